/*
 * L1's memory: the free lists of chunks and entry slots, and chains of
 * chunks holding a key and its value.  The free lists are under the
 * allocator's spinlock; a chain belongs to whoever took it off the list (a
 * set writing it, or the entry it is linked to, under its partition lock).
 */
#include "base/pg_scribe.h"

#include "storage/spin.h"

#include "cache/cache.h"
#include "cache/cache_l1_internal.h"

/* Compare len bytes of a chunk chain, from its start, with buf */
bool
cache_chain_equals(uint32 chunk, const char *buf, int len)
{
	while (len > 0 && chunk != 0)
	{
		int			n = Min(len, CACHE_CHUNK_DATA);

		if (memcmp(cache_chunks[chunk - 1].data, buf, n) != 0)
			return false;
		buf += n;
		len -= n;
		chunk = cache_chunks[chunk - 1].next;
	}
	return len == 0;
}

/* Copy len bytes of a chunk chain, from offset on, into out */
void
cache_chain_read(uint32 chunk, int offset, int len, StringInfo out)
{
	while (offset >= CACHE_CHUNK_DATA)
	{
		chunk = cache_chunks[chunk - 1].next;
		offset -= CACHE_CHUNK_DATA;
	}
	enlargeStringInfo(out, len);
	while (len > 0)
	{
		int			n = Min(len, CACHE_CHUNK_DATA - offset);

		appendBinaryStringInfo(out, cache_chunks[chunk - 1].data + offset, n);
		len -= n;
		offset = 0;
		chunk = cache_chunks[chunk - 1].next;
	}
}

/* Write two buffers one after the other into a chunk chain */
void
cache_chain_write(uint32 chunk, const char *a, int a_len, const char *b, int b_len)
{
	int			used = 0;

	for (int part = 0; part < 2; part++)
	{
		const char *src = part == 0 ? a : b;
		int			len = part == 0 ? a_len : b_len;

		while (len > 0)
		{
			int			n;

			if (used == CACHE_CHUNK_DATA)
			{
				chunk = cache_chunks[chunk - 1].next;
				used = 0;
			}
			n = Min(len, CACHE_CHUNK_DATA - used);
			memcpy(cache_chunks[chunk - 1].data + used, src, n);
			used += n;
			src += n;
			len -= n;
		}
	}
}

/* Take n chunks off the free list as one chain; 0 if there are not that many */
uint32
cache_alloc_chunks(uint32 n)
{
	uint32		first;
	uint32		last;

	SpinLockAcquire(&cache->alloc_mutex);
	if (cache->free_chunks < n)
	{
		SpinLockRelease(&cache->alloc_mutex);
		return 0;
	}
	first = last = cache->free_chunk;
	for (uint32 i = 1; i < n; i++)
		last = cache_chunks[last - 1].next;
	cache->free_chunk = cache_chunks[last - 1].next;
	cache->free_chunks -= n;
	SpinLockRelease(&cache->alloc_mutex);
	cache_chunks[last - 1].next = 0;
	return first;
}

/* Give a chain of chunks back */
void
cache_free_chunks(uint32 first)
{
	uint32		last = first;
	uint32		n = 1;

	if (first == 0)
		return;
	while (cache_chunks[last - 1].next != 0)
	{
		last = cache_chunks[last - 1].next;
		n++;
	}
	SpinLockAcquire(&cache->alloc_mutex);
	cache_chunks[last - 1].next = cache->free_chunk;
	cache->free_chunk = first;
	cache->free_chunks += n;
	SpinLockRelease(&cache->alloc_mutex);
}

/* Take a free entry slot (index + 1), or 0 */
uint32
cache_alloc_entry(void)
{
	uint32		slot;

	SpinLockAcquire(&cache->alloc_mutex);
	slot = cache->free_entry;
	if (slot != 0)
	{
		cache->free_entry = cache_entries[slot - 1].next;
		cache->free_entries--;
	}
	SpinLockRelease(&cache->alloc_mutex);
	return slot;
}

/* Give an entry slot back (it is unlinked and not in use) */
void
cache_free_entry(uint32 slot)
{
	SpinLockAcquire(&cache->alloc_mutex);
	cache_entries[slot - 1].next = cache->free_entry;
	cache->free_entry = slot;
	cache->free_entries++;
	SpinLockRelease(&cache->alloc_mutex);
}

/* Whether the free lists hold n chunks and an entry slot */
bool
cache_has_room(uint32 chunks)
{
	bool		room;

	SpinLockAcquire(&cache->alloc_mutex);
	room = cache->free_chunks >= chunks && cache->free_entries >= 1;
	SpinLockRelease(&cache->alloc_mutex);
	return room;
}
