/*
 * The verdict on a page: whether a person should check its text, and why.
 * Tesseract's mean confidence alone misses the worst cases (a page upside
 * down is read as garbage at confidence ~40, a table's cells skipped at
 * confidence 90), so the verdict also looks at the words themselves and at
 * the ink that no word covers.
 */
#include <ctype.h>
#include <string.h>

#include "engine.h"

/* Below this mean word confidence (0-100) the page is flagged */
#define LOW_CONFIDENCE 60
/*
 * Above this share of garbage among a page's words (at least
 * GARBAGE_MIN_WORDS of them), the page is flagged: the bench's pages read
 * right, code and tables included, stay under 0.10; pages read upside down
 * or on their side are at 0.25-0.32.
 */
#define MAX_GARBAGE_SHARE 0.20
#define GARBAGE_MIN_WORDS 5
/*
 * Orientation is uncertain when OSD's quick pass was not sure of an upright
 * page and its full pass then found no text, or too little to turn the page
 * (under MIN_ORIENTATION_CONFIDENCE, engine_orient.c: the page was left as
 * it was without knowing), or turned it on weak evidence (under
 * ORIENTATION_SURE; turned pages of the bench scored 5.9-27).
 */
#define ORIENTATION_UNSURE 2.0f
#define ORIENTATION_SURE 5.0f
/* A page with this many pixels of character-sized ink and no text has lost it all */
#define INK_WITHOUT_TEXT 200

/* Characters taken off both ends of a word before judging it (sentence punctuation) */
static const char *const end_punctuation[] = {
	".", ",", ";", ":", "!", "?", "'", "\"", "(", ")", "*",
	"\u201c", "\u201d", "\u2018", "\u2019", "\u00ab", "\u00bb", NULL
};

/* The length of the end punctuation s starts with, 0 if none */
static size_t
punctuation_at(const char *s)
{
	for (int i = 0; end_punctuation[i]; i++)
		if (strncmp(s, end_punctuation[i], strlen(end_punctuation[i])) == 0)
			return strlen(end_punctuation[i]);
	return 0;
}

/* The length of the end punctuation s[0..len) ends with, 0 if none */
static size_t
punctuation_before(const char *s, size_t len)
{
	for (int i = 0; end_punctuation[i]; i++)
	{
		size_t		n = strlen(end_punctuation[i]);

		if (n <= len && strncmp(s + len - n, end_punctuation[i], n) == 0)
			return n;
	}
	return 0;
}

/* Count of byte c in s[0..len) */
static int
count_of(const char *s, size_t len, char c)
{
	int			n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

/*
 * Whether a recognised word looks like garbage rather than a word: the
 * rules of rmgarbage (Taghva et al., "Automatic removal of garbage strings
 * in OCR text") and a few for what tesseract makes of text upside down or
 * on its side.  After taking sentence punctuation off both ends and one
 * pair of enclosing brackets ("[B]" on a form is a word): longer than 30
 * characters; a character four times in a row (digits aside); more
 * punctuation than letters and digits; two different punctuation marks
 * inside, one of them outside what code and paths use (_ . - / : = < > ( )
 * [ ]); brackets or braces that do not pair, or | and \ inside a word;
 * letters, digits, letters ("J8A0"), unless joined by _ - or .; a capital
 * after a lowercase letter in a word with two capitals in a row ("AZe",
 * "PeINs"), or two capitals before a lowercase letter other than a plural
 * s; four or more ASCII letters without a vowel.  Non-ASCII characters
 * count as letters; numbers are never garbage.  Tesseract's dictionary
 * check (WordIsFromDictionary) is no help with its LSTM models: it passes
 * 36-49 % of the words of pages read upside down, and only 43 % of a clean
 * page of R's reference.  Pages read upside down or on their side: 28-46 %
 * of their words are garbage by these rules; the bench's pages read right
 * 0-10 %.
 */
bool
engine_word_is_garbage(const char *word, bool numeric)
{
	const char *w = word;
	size_t		len = strlen(word);
	size_t		n;
	int			alnum = 0,
				letters = 0,
				vowels = 0,
				punct = 0,
				chars = 0,
				run = 1;
	char		first_punct = 0;
	bool		two_puncts = false,
				odd_punct = false,
				has_non_ascii = false,
				joined = false,
				mixed_digits = false,
				lower_upper = false,
				two_caps = false,
				caps_lower = false;

	if (numeric)
		return false;
	while (len > 0 && (n = punctuation_at(w)) > 0 && n <= len)
	{
		w += n;
		len -= n;
	}
	while (len > 0 && (n = punctuation_before(w, len)) > 0)
		len -= n;
	if (len >= 2 && ((w[0] == '[' && w[len - 1] == ']') || (w[0] == '{' && w[len - 1] == '}')))
	{
		w++;
		len -= 2;
	}
	if (len == 0)
		return false;
	if (count_of(w, len, '[') != count_of(w, len, ']') || count_of(w, len, '{') != count_of(w, len, '}') ||
		count_of(w, len, '|') > 0 || count_of(w, len, '\\') > 0)
		return true;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) w[i];
		unsigned char prev = i > 0 ? (unsigned char) w[i - 1] : 0;
		unsigned char next = i + 1 < len ? (unsigned char) w[i + 1] : 0;

		if ((c & 0xC0) != 0x80)
			chars++;
		if (c >= 0x80)
		{
			/* a non-ASCII letter: neither punctuation nor a consonant */
			if ((c & 0xC0) != 0x80)
				alnum++, letters++, vowels++;
			has_non_ascii = true;
			continue;
		}
		if (i > 0 && c == prev && !isdigit(c))
		{
			if (++run >= 4)
				return true;
		}
		else
			run = 1;
		if (isdigit(c))
			alnum++;
		else if (isalpha(c))
		{
			alnum++;
			letters++;
			vowels += strchr("aeiouyAEIOUY", c) != NULL;
			lower_upper |= isupper(c) && islower(prev);
			two_caps |= isupper(c) && isupper(prev);
			caps_lower |= isupper(c) && isupper(prev) && islower(next) && !(next == 's' && i + 2 == len);
			if (isdigit(prev) && i >= 2)
			{
				/* letters, digits, letters */
				size_t		j = i - 1;

				while (j > 0 && isdigit((unsigned char) w[j]))
					j--;
				mixed_digits |= isalpha((unsigned char) w[j]) != 0;
			}
		}
		else
		{
			punct++;
			joined |= c == '_' || c == '-' || c == '.';
			odd_punct |= strchr("_.-/:=<>()[]", c) == NULL;
			if (first_punct == 0)
				first_punct = (char) c;
			else if (c != first_punct)
				two_puncts = true;
		}
	}
	if (chars > 30 || punct > alnum || (two_puncts && odd_punct) || (mixed_digits && !joined) ||
		(lower_upper && two_caps) || caps_lower)
		return true;
	/* a word of ASCII letters only, four or more, without a vowel */
	return !has_non_ascii && letters >= 4 && letters == alnum && vowels == 0;
}

/*
 * Whether a reading looks like text read the right way up: some text and
 * neither low confidence nor garbage words, or no ink at all (a blank page).
 * A page read upside down fails it (confidence 30-40, 25-32 % garbage).
 */
bool
engine_reading_plausible(const PageReading *r)
{
	double		garbage_share = r->words > 0 ? (double) r->garbage_words / r->words : 0;

	if (r->characters == 0)
		return r->ink_pixels < INK_WITHOUT_TEXT;
	return r->confidence >= LOW_CONFIDENCE &&
		!(r->words >= GARBAGE_MIN_WORDS && garbage_share > MAX_GARBAGE_SHARE);
}

/*
 * Append the verdict on a page to its JSON object: "needs_review" and
 * "review_reasons", from what recognition found.
 */
void
engine_verdict(const PageReading *r, const PrepareReport *prep, JsonOut *out)
{
	const char *reasons[5];
	int			n = 0;
	double		garbage_share = r->words > 0 ? (double) r->garbage_words / r->words : 0;

	if (r->characters == 0)
	{
		/* ink but no text: the page was not read; no ink: a blank page, nothing to check */
		if (r->ink_pixels >= INK_WITHOUT_TEXT)
			reasons[n++] = "no_text_found";
	}
	else
	{
		if (r->confidence < LOW_CONFIDENCE)
			reasons[n++] = "low_confidence";
		if (r->completeness >= 0 && r->completeness < MIN_COMPLETENESS)
			reasons[n++] = "text_probably_lost";
		if (r->words >= GARBAGE_MIN_WORDS && garbage_share > MAX_GARBAGE_SHARE)
			reasons[n++] = "garbage_words";
	}
	if (prep->orientation_full_pass && r->ink_pixels >= INK_WITHOUT_TEXT &&
		(!prep->orientation_checked || prep->rotation_confidence < ORIENTATION_UNSURE ||
		 (prep->rotation != 0 && prep->rotation_confidence < ORIENTATION_SURE)))
		reasons[n++] = "orientation_uncertain";

	json_appendf(out, ",\"garbage_share\":%.4f,\"needs_review\":%s,\"review_reasons\":[",
				 garbage_share, n > 0 ? "true" : "false");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			json_append(out, ",");
		json_string(out, reasons[i]);
	}
	json_append(out, "]");
}
