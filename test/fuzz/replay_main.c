/*
 * replay_main.c — runs files through LLVMFuzzerTestOneInput without
 * libFuzzer, so the bad fixtures and the seed corpus are replayed under
 * AddressSanitizer and UndefinedBehaviorSanitizer in a plain build.
 *
 *   replay_image_probe DIR_OR_FILE...
 *   replay_cron DIR_OR_FILE...
 *
 * Each file is read into a buffer of exactly its size, so a read past the
 * end is caught.  Any broken invariant aborts.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read a whole file into a buffer of exactly its size; exit on error. */
static unsigned char *
read_file(const char *path, size_t *size)
{
	FILE	   *f = fopen(path, "rb");
	struct stat st;
	unsigned char *data;

	if (f == NULL || fstat(fileno(f), &st) != 0)
	{
		perror(path);
		exit(2);
	}
	*size = (size_t) st.st_size;
	data = malloc(*size ? *size : 1);
	if (data == NULL || fread(data, 1, *size, f) != *size)
	{
		perror(path);
		exit(2);
	}
	fclose(f);
	return data;
}

/* Replay one file; returns 1 so callers can count. */
static int
replay_file(const char *path)
{
	size_t		size;
	unsigned char *data = read_file(path, &size);

	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 1;
}

/* Replay every regular file of a directory (not recursive). */
static int
replay_dir(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *entry;
	int			count = 0;

	if (d == NULL)
	{
		perror(dir);
		exit(2);
	}
	while ((entry = readdir(d)) != NULL)
	{
		char		path[4096];
		struct stat st;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			count += replay_file(path);
	}
	closedir(d);
	return count;
}

/* Replay each argument: a directory's files, or a file. */
int
main(int argc, char **argv)
{
	int			count = 0;
	int			i;
	struct stat st;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
	{
		if (stat(argv[i], &st) != 0)
		{
			perror(argv[i]);
			return 2;
		}
		count += S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]);
	}
	/* named after the binary: several targets share this file */
	printf("%s: %d files replayed, every invariant held\n",
		   strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0], count);
	return 0;
}
