/* SPDX-License-Identifier: MIT */
/*
 * guest.cfg loader (contract in vmm/config.h, user reference in
 * docs/config.md).
 *
 * Phase 1 collects (section, key, value, location) entries: first the file,
 * parsed by libinih, then the --set overrides. Phase 2 interprets the
 * collected entries section by section and validates the whole. Only the
 * first error is reported; parsing stops there.
 *
 * Why a custom inih reader: inih's handler is not told line numbers (Debian
 * builds it with INI_HANDLER_LINENO=0), is not called for section headers
 * (so empty sections and header lines would be invisible), truncates long
 * lines silently into its 200-byte stack buffer, and treats an indented line
 * after a key as a continuation of that key's value. The reader below hands
 * inih exactly one line per call, so its own count is inih's line number,
 * and it classifies each line the way inih will (ini.c r55, with multi-line
 * values and ';' inline comments on) to see section headers and
 * continuation lines. Headers are parsed here, not from the section string
 * inih passes, which inih truncates at 49 characters.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/device.h"
#include "vmm/mem.h"
#include "vmm/rt.h"
#include "vmm/util.h"

#define CFG_NAME_MAX	31	  /* section and VM names */
#define CFG_MAX_DEVICES 64	  /* [device] sections */
#define CFG_MAX_MODULES 64	  /* boot modules */
#define CFG_FILE_MAX	(1 << 20) /* bytes read from a config file */
#define CFG_PAGE	4096ULL
#define CFG_PIO_END	0x10000ULL /* x86 port space; arm64 has no PIO */
#define CFG_SET_FILE	"--set"

enum sect_kind { SECT_VM, SECT_BOOT, SECT_MEMORY, SECT_DEVICE };

struct entry {
	char *key;
	char *value;
	struct cfg_loc loc;
	unsigned cont_line; /* first continuation line; 0: none */
};

struct section {
	enum sect_kind kind;
	char *name;	    /* memory/device NAME; NULL for vm and boot */
	char *display;	    /* for messages: vm, memory "ram" */
	struct cfg_loc loc; /* the header, or the --set that created it */
	struct entry *entries;
	unsigned nr_entries, cap_entries;
};

struct parser {
	struct vm_config *cfg;
	struct cfg_error *err;
	int rc;		   /* first error (negative errno); 0: none yet */
	unsigned err_line; /* its line in the file, 0 if not a file line */
	const char *file;  /* interned file name for locations */

	struct section *sects;
	unsigned nr_sects, cap_sects;
	int cur; /* section the file's keys go to; -1 before any header */

	/* the reader */
	const char *text;
	size_t len, pos;
	unsigned lineno;
	bool have_key; /* inih's prev_name: a key since the last header */
	bool line_is_cont;

	/* phase 2: resources claimed per device, nr_devices entries */
	struct dev_resource (*res)[DEV_MAX_RESOURCES];
	unsigned *nr_res;
};

static const char *const io_policy_names[] = { "ignore", "log", "fault", NULL };
static const char *const boot_format_names[] = {
	"auto", "elf", "multiboot", "multiboot2", "raw", "linux", "pvh", NULL
};
static const char *const cpu_mode_names[] = { "default", "real", "protected",
					      "long", NULL };

const char *io_policy_name(enum io_policy p)
{
	if ((unsigned)p >= ARRAY_SIZE(io_policy_names) - 1)
		return "?";
	return io_policy_names[p];
}

const char *boot_format_name(enum boot_format f)
{
	if ((unsigned)f >= ARRAY_SIZE(boot_format_names) - 1)
		return "?";
	return boot_format_names[f];
}

const char *cpu_mode_name(enum cpu_mode m)
{
	if ((unsigned)m >= ARRAY_SIZE(cpu_mode_names) - 1)
		return "?";
	return cpu_mode_names[m];
}

/* ---- errors ---- */

static void cfg_verror_at(struct cfg_error *err, const struct cfg_loc *loc,
			  const char *section, const char *key, const char *fmt,
			  va_list ap)
{
	size_t len = sizeof(err->msg), n = 0;
	int w;

	err->msg[0] = '\0';
	/* snprintf returns what it wanted to write; clamp so n stays
	 * inside msg when a long file name or value is truncated. */
#define APPEND(...)                                                       \
	do {                                                              \
		if (n < len) {                                            \
			w = snprintf(err->msg + n, len - n, __VA_ARGS__); \
			n = w < 0 ? len : MIN(len, n + (size_t)w);        \
		}                                                         \
	} while (0)
	if (loc && loc->file) {
		if (loc->line)
			APPEND("%s:%u: ", loc->file, loc->line);
		else
			APPEND("%s: ", loc->file);
	}
	if (section && key)
		APPEND("[%s] %s: ", section, key);
	else if (section)
		APPEND("[%s]: ", section);
	else if (key)
		APPEND("%s: ", key);
#undef APPEND
	if (n < len)
		vsnprintf(err->msg + n, len - n, fmt, ap);
}

void cfg_error_at(struct cfg_error *err, const struct cfg_loc *loc,
		  const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verror_at(err, loc, section, key, fmt, ap);
	va_end(ap);
}

/* Record the first error; later ones are dropped. Returns -EINVAL. */
static int __attribute__((format(printf, 5, 6)))
perr(struct parser *p, const struct cfg_loc *loc, const char *section,
     const char *key, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return p->rc;
	va_start(ap, fmt);
	cfg_verror_at(p->err, loc, section, key, fmt, ap);
	va_end(ap);
	p->rc = -EINVAL;
	p->err_line = loc && loc->file == p->file ? loc->line : 0;
	return p->rc;
}

static int oom(struct parser *p)
{
	if (!p->rc) {
		snprintf(p->err->msg, sizeof(p->err->msg), "%s: out of memory",
			 p->file ? p->file : "config");
		p->rc = -ENOMEM;
		p->err_line = 0;
	}
	return -ENOMEM;
}

/* ---- small helpers ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool name_valid(const char *s, size_t n)
{
	if (n < 1 || n > CFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/* Grow *arr to hold at least `need` elements. */
static int grow(void *arrp, unsigned *cap, unsigned need, size_t elem)
{
	void **arr = arrp;
	unsigned ncap;
	void *n;

	if (need <= *cap)
		return 0;
	if (*cap > UINT32_MAX / 4)
		return -ENOMEM;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap < need)
		ncap = need;
	n = reallocarray(*arr, ncap, elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

static char *xstrndup(struct parser *p, const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		oom(p);
	return d;
}

static char *xstrdup(struct parser *p, const char *s)
{
	return xstrndup(p, s, strlen(s));
}

static char *xasprintf(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static char *xasprintf(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		oom(p);
		return NULL;
	}
	return s;
}

/* Interned strings live as long as the config (cfg_loc.file). */
static const char *intern(struct parser *p, const char *s)
{
	struct vm_config *cfg = p->cfg;
	unsigned cap = cfg->nr_strings;
	char *d;

	for (unsigned i = 0; i < cfg->nr_strings; i++)
		if (!strcmp(cfg->strings[i], s))
			return cfg->strings[i];
	/* strings is sized exactly: at most a handful of entries */
	if (grow(&cfg->strings, &cap, cfg->nr_strings + 1, sizeof(char *))) {
		oom(p);
		return NULL;
	}
	d = xstrdup(p, s);
	if (!d)
		return NULL;
	cfg->strings[cfg->nr_strings++] = d;
	return d;
}

/* A path from the config, relative to the config's directory. */
static char *resolve_path(struct parser *p, const char *path)
{
	const char *dir = p->cfg->dir;

	if (path[0] == '/' || !dir || !strcmp(dir, "."))
		return xstrdup(p, path);
	return xasprintf(p, "%s%s%s", dir,
			 dir[strlen(dir) - 1] == '/' ? "" : "/", path);
}

/* "a, b, c" into buf, truncated to fit. */
static void join_list(char *buf, size_t len, const char *const *items,
		      unsigned n)
{
	size_t used = 0;
	int w;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && used < len; i++) {
		w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
			     items[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* ---- phase 1: sections and entries ---- */

static const char *const sect_kind_names[] = { "vm", "boot", "memory",
					       "device" };

static int find_section(struct parser *p, enum sect_kind kind, const char *name,
			size_t nlen)
{
	for (unsigned i = 0; i < p->nr_sects; i++) {
		struct section *s = &p->sects[i];

		if (s->kind != kind)
			continue;
		if (!name ||
		    (strlen(s->name) == nlen && !memcmp(s->name, name, nlen)))
			return (int)i;
	}
	return -1;
}

static unsigned count_sections(struct parser *p, enum sect_kind kind)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->nr_sects; i++)
		n += p->sects[i].kind == kind;
	return n;
}

/*
 * Add a section (the caller checked it is new). display_raw is how the
 * header was written, for the limit messages. Returns its index or -1.
 */
static int add_section(struct parser *p, enum sect_kind kind, const char *name,
		       size_t nlen, const struct cfg_loc *loc)
{
	struct section *s;
	unsigned limit = 1;
	char *dname = NULL, *display;

	if (kind == SECT_MEMORY)
		limit = MEM_MAX_REGIONS;
	else if (kind == SECT_DEVICE)
		limit = CFG_MAX_DEVICES;
	if (count_sections(p, kind) >= limit) {
		perr(p, loc, NULL, NULL, "too many [%s] sections (at most %u)",
		     sect_kind_names[kind], limit);
		return -1;
	}
	if (name) {
		dname = xstrndup(p, name, nlen);
		if (!dname)
			return -1;
		display =
			xasprintf(p, "%s \"%s\"", sect_kind_names[kind], dname);
	} else {
		display = xstrdup(p, sect_kind_names[kind]);
	}
	if (!display ||
	    grow(&p->sects, &p->cap_sects, p->nr_sects + 1, sizeof(*s))) {
		free(dname);
		free(display);
		oom(p);
		return -1;
	}
	s = &p->sects[p->nr_sects];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->name = dname;
	s->display = display;
	s->loc = *loc;
	return (int)p->nr_sects++;
}

static int add_entry(struct parser *p, unsigned si, const char *key,
		     size_t klen, const char *value, size_t vlen,
		     const struct cfg_loc *loc)
{
	struct section *s = &p->sects[si];
	struct entry *e;

	if (grow(&s->entries, &s->cap_entries, s->nr_entries + 1, sizeof(*e)))
		return oom(p);
	e = &s->entries[s->nr_entries];
	memset(e, 0, sizeof(*e));
	e->key = xstrndup(p, key, klen);
	e->value = xstrndup(p, value, vlen);
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		return -ENOMEM;
	}
	e->loc = *loc;
	s->nr_entries++;
	return 0;
}

static bool sect_kind_from(const char *s, size_t n, enum sect_kind *kind)
{
	for (unsigned i = 0; i < ARRAY_SIZE(sect_kind_names); i++) {
		if (strlen(sect_kind_names[i]) == n &&
		    !memcmp(sect_kind_names[i], s, n)) {
			*kind = (enum sect_kind)i;
			return true;
		}
	}
	return false;
}

/*
 * A section header's text between '[' and ']': `vm`, `boot`,
 * `memory "NAME"` or `memory NAME`, `device "NAME"` or `device NAME`.
 */
static void parse_header(struct parser *p, const char *h, size_t n)
{
	struct cfg_loc loc = { p->file, p->lineno };
	char *raw = xstrndup(p, h, n);
	const char *s = h, *end = h + n, *type, *name = NULL;
	size_t tlen, nlen = 0;
	enum sect_kind kind;
	int prev;

	if (!raw)
		return;
	while (s < end && is_space(*s))
		s++;
	while (end > s && is_space(end[-1]))
		end--;
	type = s;
	while (s < end && !is_space(*s) && *s != '"')
		s++;
	tlen = (size_t)(s - type);
	while (s < end && is_space(*s))
		s++;
	if (s < end && *s == '"') {
		const char *q = memchr(s + 1, '"', (size_t)(end - s - 1));

		if (!q) {
			perr(p, &loc, raw, NULL, "missing closing '\"'");
			goto out;
		}
		name = s + 1;
		nlen = (size_t)(q - name);
		s = q + 1;
		if (!nlen) {
			perr(p, &loc, raw, NULL, "empty name");
			goto out;
		}
	} else if (s < end) {
		name = s;
		while (s < end && !is_space(*s))
			s++;
		nlen = (size_t)(s - name);
	}
	while (s < end && is_space(*s))
		s++;
	if (!tlen) {
		perr(p, &loc, raw, NULL, "empty section header");
		goto out;
	}
	if (!sect_kind_from(type, tlen, &kind)) {
		perr(p, &loc, raw, NULL,
		     "unknown section type '%.*s' (expected [vm], [boot], "
		     "[memory \"NAME\"] or [device \"NAME\"])",
		     (int)MIN(tlen, 64), type);
		goto out;
	}
	if (s < end) {
		perr(p, &loc, raw, NULL, "unexpected text after the name");
		goto out;
	}
	if ((kind == SECT_VM || kind == SECT_BOOT) && name) {
		perr(p, &loc, raw, NULL, "[%s] takes no name",
		     sect_kind_names[kind]);
		goto out;
	}
	if ((kind == SECT_MEMORY || kind == SECT_DEVICE) && !name) {
		perr(p, &loc, raw, NULL, "needs a name: [%s \"NAME\"]",
		     sect_kind_names[kind]);
		goto out;
	}
	if (name && !name_valid(name, nlen)) {
		perr(p, &loc, raw, NULL,
		     "bad name '%.*s': use 1 to %u characters from A-Z a-z "
		     "0-9 _ . -",
		     (int)MIN(nlen, 64), name, CFG_NAME_MAX);
		goto out;
	}
	prev = find_section(p, kind, name, nlen);
	if (prev >= 0) {
		perr(p, &loc, p->sects[prev].display, NULL,
		     "section repeated (first at line %u); each section may "
		     "appear once",
		     p->sects[prev].loc.line);
		goto out;
	}
	p->cur = add_section(p, kind, name, nlen, &loc);
out:
	free(raw);
}

/* inih's find_chars_or_comment(): the first of chars, or an inline ';'
 * comment (a ';' after whitespace), or the end. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !(chars && strchr(chars, *s)) &&
	       !(was_space && *s == ';')) {
		was_space = is_space(*s);
		s++;
	}
	return s;
}

/*
 * Classify a line as inih will: blank or comment, continuation of the
 * previous key, section header, or key line. Handles headers and the syntax
 * errors inih would only report as a bare line number.
 */
static void classify_line(struct parser *p, const char *line)
{
	struct cfg_loc loc = { p->file, p->lineno };
	const char *b = line, *e, *c;

	p->line_is_cont = false;
	if (p->lineno == 1 && (unsigned char)b[0] == 0xef &&
	    (unsigned char)b[1] == 0xbb && (unsigned char)b[2] == 0xbf)
		b += 3;
	e = b + strlen(b);
	while (e > b && is_space(e[-1]))
		e--;
	while (b < e && is_space(*b))
		b++;
	if (b == e || *b == ';' || *b == '#')
		return;
	if (p->have_key && b > line) {
		p->line_is_cont = true;
		return;
	}
	if (*b == '[') {
		c = find_chars_or_comment(b + 1, "]");
		if (*c != ']') {
			perr(p, &loc, NULL, NULL,
			     "syntax error: section header without ']'");
			return;
		}
		/* inih ignores whatever follows ']'; allow only a comment */
		for (const char *t = c + 1; t < e; t++) {
			if (*t == ';' || *t == '#')
				break;
			if (!is_space(*t)) {
				perr(p, &loc, NULL, NULL,
				     "syntax error: text after ']'");
				return;
			}
		}
		p->have_key = false;
		parse_header(p, b + 1, (size_t)(c - b - 1));
		return;
	}
	c = find_chars_or_comment(b, "=:");
	if (*c != '=' && *c != ':')
		perr(p, &loc, NULL, NULL,
		     "syntax error: expected 'key = value' or '[section]', "
		     "got '%.*s'",
		     (int)MIN(e - b, 60), b);
}

/*
 * inih reader: copy one line (without its line terminator) into buf. A line
 * that does not fit is an error, never silently split or truncated.
 * Returning NULL ends the parse, which is how the first error stops it.
 */
static char *cfg_reader(char *buf, int num, void *stream)
{
	struct parser *p = stream;
	const char *s, *nl;
	size_t n, avail;

	if (p->rc || p->pos >= p->len || num < 2)
		return NULL;
	s = p->text + p->pos;
	avail = p->len - p->pos;
	nl = memchr(s, '\n', avail);
	n = nl ? (size_t)(nl - s) : avail;
	p->pos += nl ? n + 1 : n;
	p->lineno++;
	if (n && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\0', n)) {
		struct cfg_loc loc = { p->file, p->lineno };

		perr(p, &loc, NULL, NULL, "line contains a NUL byte");
		return NULL;
	}
	if (n > (size_t)num - 1) {
		struct cfg_loc loc = { p->file, p->lineno };

		perr(p, &loc, NULL, NULL,
		     "line too long (%zu characters, at most %d); a long "
		     "cmdline can continue on indented lines",
		     n, num - 1);
		return NULL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	classify_line(p, buf);
	return p->rc ? NULL : buf;
}

/*
 * Length of a value from inih without an inline comment: a ';' or '#'
 * after whitespace. inih (r55) already cuts first lines at " ;" but not
 * continuation lines, and never at " #"; doing both here keeps all lines
 * alike, makes `key = value   # note` work as it reads, and keeps a note
 * after a cmdline from reaching the guest.
 */
static size_t value_len(const char *v)
{
	size_t n = 0;

	while (v[n] &&
	       !((v[n] == '#' || v[n] == ';') && (!n || is_space(v[n - 1]))))
		n++;
	while (n && is_space(v[n - 1]))
		n--;
	return n;
}

static int cfg_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	struct parser *p = user;
	struct cfg_loc loc = { p->file, p->lineno };
	struct section *s;
	struct entry *e;
	size_t old, add;
	char *v;

	(void)section;
	if (p->rc)
		return 1;
	if (p->line_is_cont) {
		/* inih repeats the previous key; join the parts with a space.
		 * Whether this key may continue is decided in phase 2. */
		s = &p->sects[p->cur];
		e = &s->entries[s->nr_entries - 1];
		old = strlen(e->value);
		add = value_len(value);
		v = realloc(e->value, old + add + 2);
		if (!v)
			return oom(p), 1;
		if (old && add)
			v[old++] = ' ';
		memcpy(v + old, value, add);
		v[old + add] = '\0';
		e->value = v;
		if (!e->cont_line)
			e->cont_line = p->lineno;
		return 1;
	}
	if (*name)
		p->have_key = true;
	if (!*name) {
		perr(p, &loc, NULL, NULL,
		     "syntax error: missing key before '='");
		return 1;
	}
	if (p->cur < 0) {
		perr(p, &loc, NULL, name,
		     "key before the first [section] header");
		return 1;
	}
	add_entry(p, (unsigned)p->cur, name, strlen(name), value,
		  value_len(value), &loc);
	return 1;
}

static int parse_text(struct parser *p)
{
	int ret;

	p->cur = -1;
	ret = ini_parse_stream(cfg_reader, p, cfg_handler, p);
	if (ret > 0 &&
	    (!p->rc || (p->err_line && (unsigned)ret < p->err_line))) {
		struct cfg_loc loc = { p->file, (unsigned)ret };

		/* inih saw an error our reader did not predict */
		p->rc = 0;
		perr(p, &loc, NULL, NULL, "syntax error");
	} else if (ret < 0 && !p->rc) {
		return oom(p);
	}
	return p->rc;
}

/*
 * One --set override: SECTION.KEY=VALUE where SECTION is vm, boot,
 * memory.NAME or device.NAME (NAME may contain dots; the key is after the
 * last dot).
 */
static int apply_override(struct parser *p, const char *ov, unsigned idx)
{
	struct cfg_loc loc = { intern(p, CFG_SET_FILE), idx };
	const char *eq, *dot, *ldot, *k, *ke, *v, *ve, *name = NULL;
	size_t nlen = 0;
	enum sect_kind kind;
	int si;

	if (!loc.file)
		return -ENOMEM;
	eq = strchr(ov, '=');
	dot = strchr(ov, '.');
	if (!eq || !dot || dot > eq)
		goto malformed;
	if (!sect_kind_from(ov, (size_t)(dot - ov), &kind))
		return perr(
			p, &loc, NULL, NULL,
			"'%.80s': unknown section '%.*s' (expected vm, boot, "
			"memory.NAME or device.NAME)",
			ov, (int)MIN(dot - ov, 40), ov);
	ldot = dot;
	for (const char *t = dot; t < eq; t++)
		if (*t == '.')
			ldot = t;
	k = ldot + 1;
	ke = eq;
	while (ke > k && is_space(ke[-1]))
		ke--;
	if (kind == SECT_MEMORY || kind == SECT_DEVICE) {
		if (ldot == dot)
			return perr(p, &loc, NULL, NULL,
				    "'%.80s': expected %s.NAME.KEY=VALUE", ov,
				    sect_kind_names[kind]);
		name = dot + 1;
		nlen = (size_t)(ldot - name);
		if (!name_valid(name, nlen))
			return perr(p, &loc, NULL, NULL,
				    "'%.80s': bad %s name '%.*s'", ov,
				    sect_kind_names[kind], (int)MIN(nlen, 40),
				    name);
	} else if (ldot != dot) {
		return perr(p, &loc, NULL, NULL,
			    "'%.80s': expected %s.KEY=VALUE ([%s] takes no "
			    "name)",
			    ov, sect_kind_names[kind], sect_kind_names[kind]);
	}
	if (ke == k)
		goto malformed;
	for (const char *t = k; t < ke; t++)
		if (is_space(*t))
			goto malformed;
	v = eq + 1;
	while (*v && is_space(*v))
		v++;
	ve = v + strlen(v);
	while (ve > v && is_space(ve[-1]))
		ve--;
	si = find_section(p, kind, name, nlen);
	if (si < 0) {
		si = add_section(p, kind, name, nlen, &loc);
		if (si < 0)
			return p->rc;
	}
	/* taken literally: no comments on the command line */
	return add_entry(p, (unsigned)si, k, (size_t)(ke - k), v,
			 (size_t)(ve - v), &loc);

malformed:
	return perr(p, &loc, NULL, NULL,
		    "malformed override '%.80s': expected SECTION.KEY=VALUE, "
		    "e.g. vm.vcpus=2 or memory.ram.size=128M",
		    ov);
}

/* ---- phase 2: interpretation ---- */

/*
 * Map each entry of section s to one of keys[] (the last assignment wins),
 * rejecting unknown keys and continuation lines on keys that may not span
 * lines (cont_ok[i]; NULL: none may). Repeatable keys are re-read by the
 * caller from s->entries.
 */
static int take_slots(struct parser *p, const struct section *s,
		      const char *const *keys, unsigned nkeys,
		      const bool *cont_ok, const struct entry **slot)
{
	for (unsigned i = 0; i < nkeys; i++)
		slot[i] = NULL;
	for (unsigned j = 0; j < s->nr_entries; j++) {
		const struct entry *e = &s->entries[j];
		unsigned i;

		for (i = 0; i < nkeys; i++)
			if (!strcmp(keys[i], e->key))
				break;
		if (i == nkeys) {
			char list[320];

			join_list(list, sizeof(list), keys, nkeys);
			return perr(p, &e->loc, s->display, e->key,
				    "unknown key (valid keys: %s)", list);
		}
		if (e->cont_line && !(cont_ok && cont_ok[i])) {
			struct cfg_loc cl = { e->loc.file, e->cont_line };

			return perr(p, &cl, s->display, e->key,
				    "indented line continues this value; only "
				    "text values may span lines (do not "
				    "indent keys)");
		}
		slot[i] = e;
	}
	return 0;
}

static int val_u64(struct parser *p, const struct section *s,
		   const struct entry *e, uint64_t *out)
{
	int ret = parse_u64(e->value, out);

	if (ret == -ERANGE)
		return perr(p, &e->loc, s->display, e->key,
			    "number '%.80s' is too large", e->value);
	if (ret)
		return perr(p, &e->loc, s->display, e->key,
			    "bad number '%.80s' (expected decimal or 0x hex)",
			    e->value);
	return 0;
}

static int val_size(struct parser *p, const struct section *s,
		    const struct entry *e, uint64_t *out)
{
	int ret = parse_size(e->value, out);

	if (ret == -ERANGE)
		return perr(p, &e->loc, s->display, e->key,
			    "size '%.80s' is too large", e->value);
	if (ret)
		return perr(p, &e->loc, s->display, e->key,
			    "bad size '%.80s' (expected a number with an "
			    "optional K, M, G or T suffix)",
			    e->value);
	return 0;
}

static int val_bool(struct parser *p, const struct section *s,
		    const struct entry *e, bool *out)
{
	if (parse_bool(e->value, out))
		return perr(p, &e->loc, s->display, e->key,
			    "bad boolean '%.80s' (expected yes/no, "
			    "true/false, on/off or 1/0)",
			    e->value);
	return 0;
}

static int val_enum(struct parser *p, const struct section *s,
		    const struct entry *e, const char *const *choices,
		    unsigned *out)
{
	static const char *const none[] = { NULL };
	char list[320];
	unsigned n;

	if (!choices)
		choices = none; /* a device-table bug; reject every value */
	for (n = 0; choices[n]; n++) {
		if (!strcmp(choices[n], e->value)) {
			*out = n;
			return 0;
		}
	}
	join_list(list, sizeof(list), choices, n);
	return perr(p, &e->loc, s->display, e->key,
		    "bad value '%.80s' (expected one of: %s)", e->value, list);
}

/* A path value: non-empty, resolved against the config's directory. */
static int val_path(struct parser *p, const struct section *s,
		    const struct entry *e, const char *value, char **out)
{
	if (!*value)
		return perr(p, &e->loc, s->display, e->key, "empty path");
	*out = resolve_path(p, value);
	return *out ? 0 : -ENOMEM;
}

/* An input file (image, module, read-only backing): must be a readable,
 * non-empty regular file. */
static int check_input_file(struct parser *p, const struct section *s,
			    const struct entry *e, const char *path,
			    struct stat *st)
{
	int fd;

	if (stat(path, st))
		return perr(p, &e->loc, s->display, e->key, "'%s': %s", path,
			    strerror(errno));
	if (S_ISDIR(st->st_mode))
		return perr(p, &e->loc, s->display, e->key,
			    "'%s' is a directory", path);
	if (!S_ISREG(st->st_mode))
		return perr(p, &e->loc, s->display, e->key,
			    "'%s' is not a regular file", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return perr(p, &e->loc, s->display, e->key,
			    "'%s': cannot read: %s", path, strerror(errno));
	close(fd);
	if (st->st_size == 0)
		return perr(p, &e->loc, s->display, e->key, "'%s' is empty",
			    path);
	return 0;
}

/* The VM name when [vm] name is not set: the file name without its
 * directory and .cfg, reduced to name characters. */
static char *default_vm_name(struct parser *p, const char *path)
{
	const char *b = strrchr(path, '/');
	size_t n;
	char *name;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && !strcmp(b + n - 4, ".cfg"))
		n -= 4;
	if (n > CFG_NAME_MAX)
		n = CFG_NAME_MAX;
	if (!n)
		return xstrdup(p, "vm");
	name = xstrndup(p, b, n);
	if (!name)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(name[i]))
			name[i] = '_';
	return name;
}

enum {
	VM_NAME,
	VM_VCPUS,
	VM_UNHANDLED_IO,
	VM_TIMEOUT,
	VM_ON_REBOOT,
	VM_TRIPLE_FAULT,
	VM_PV_EOI,
	VM_PIN,
	VM_SCHED,
	VM_IO_CPUS,
	VM_MLOCK,
	VM_HALT_POLL_NS,
	VM_NKEYS
};
static const char *const vm_keys[] = { "name",	  "vcpus",     "unhandled-io",
				       "timeout", "on-reboot", "triple-fault",
				       "pv-eoi",  "pin",       "sched",
				       "io-cpus", "mlock",     "halt-poll-ns" };
static const char *const on_reboot_names[] = { "exit", "restart", NULL };
static const char *const triple_fault_names[] = { "fault", "reset", NULL };

/* ---- [vm] real-time keys (docs/realtime.md; host checks in rt.c) ---- */

/* A CPU list value into a new array (order kept). */
static int val_cpulist(struct parser *p, const struct section *s,
		       const struct entry *e, unsigned **out, unsigned *nr)
{
	char why[128];
	unsigned n;
	int ret;

	ret = rt_cpulist_parse(e->value, NULL, 0, &n, why, sizeof(why));
	if (ret && ret != -E2BIG)
		return perr(p, &e->loc, s->display, e->key,
			    "bad CPU list '%.80s': %s (expected e.g. 2,3 or "
			    "2-5)",
			    e->value, why);
	if (!n)
		return perr(p, &e->loc, s->display, e->key,
			    "empty CPU list (expected e.g. 2,3 or 2-5)");
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return oom(p);
	ret = rt_cpulist_parse(e->value, *out, n, nr, NULL, 0);
	return ret ? oom(p) : 0;
}

static int interp_pin(struct parser *p, const struct section *s,
		      const struct entry *e)
{
	struct vm_config *cfg = p->cfg;
	unsigned *cpus = NULL, n = 0;
	int ret;

	ret = val_cpulist(p, s, e, &cpus, &n);
	if (ret)
		return ret;
	cfg->pin = cpus;
	cfg->pin_loc = e->loc;
	if (n != cfg->vcpus)
		return perr(p, &e->loc, s->display, e->key,
			    "%u host CPU%s for %u vCPU%s: give one CPU per "
			    "vCPU, in vCPU order (pin = 2,3 puts vCPU 0 on "
			    "CPU 2 and vCPU 1 on CPU 3)",
			    n, n == 1 ? "" : "s", cfg->vcpus,
			    cfg->vcpus == 1 ? "" : "s");
	for (unsigned j = 1; j < n; j++)
		for (unsigned i = 0; i < j; i++)
			if (cpus[i] == cpus[j])
				return perr(p, &e->loc, s->display, e->key,
					    "host CPU %u is given to vCPU %u "
					    "and vCPU %u; each vCPU needs a "
					    "CPU of its own",
					    cpus[j], i, j);
	return 0;
}

static int interp_io_cpus(struct parser *p, const struct section *s,
			  const struct entry *e)
{
	struct vm_config *cfg = p->cfg;
	unsigned *cpus = NULL, n = 0, k = 0;
	int ret;

	ret = val_cpulist(p, s, e, &cpus, &n);
	if (ret)
		return ret;
	/* a set: drop repeats, keep the first occurrence's order */
	for (unsigned j = 0; j < n; j++) {
		unsigned i;

		for (i = 0; i < k && cpus[i] != cpus[j]; i++)
			;
		if (i == k)
			cpus[k++] = cpus[j];
	}
	cfg->io_cpus = cpus;
	cfg->nr_io_cpus = k;
	cfg->io_cpus_loc = e->loc;
	return 0;
}

static const char *const sched_names[] = { "other", "fifo", "rr", NULL };

const char *sched_policy_name(enum sched_policy pol)
{
	if ((unsigned)pol >= ARRAY_SIZE(sched_names) - 1)
		return "?";
	return sched_names[pol];
}

/* sched = other | fifo:PRIO | rr:PRIO */
static int interp_sched(struct parser *p, const struct section *s,
			const struct entry *e)
{
	struct vm_config *cfg = p->cfg;
	const char *colon = strchr(e->value, ':');
	size_t n = colon ? (size_t)(colon - e->value) : strlen(e->value);
	unsigned pol;
	uint64_t prio;

	for (pol = 0; sched_names[pol]; pol++)
		if (strlen(sched_names[pol]) == n &&
		    !memcmp(sched_names[pol], e->value, n))
			break;
	if (!sched_names[pol])
		return perr(p, &e->loc, s->display, e->key,
			    "bad policy '%.80s' (expected fifo:PRIO, rr:PRIO "
			    "or other)",
			    e->value);
	cfg->sched = (enum sched_policy)pol;
	cfg->sched_loc = e->loc;
	if (cfg->sched == SCHED_POLICY_OTHER) {
		if (colon)
			return perr(p, &e->loc, s->display, e->key,
				    "'other' takes no priority (got '%.80s')",
				    e->value);
		return 0;
	}
	if (!colon || !colon[1])
		return perr(p, &e->loc, s->display, e->key,
			    "'%s' needs a priority, e.g. %s:80 (1 to %u)",
			    sched_names[pol], sched_names[pol], RT_PRIO_MAX);
	if (parse_u64(colon + 1, &prio))
		return perr(p, &e->loc, s->display, e->key,
			    "bad priority '%.40s' (expected 1 to %u)",
			    colon + 1, RT_PRIO_MAX);
	if (prio < 1 || prio > RT_PRIO_MAX)
		return perr(p, &e->loc, s->display, e->key,
			    "priority %llu is out of range (1 to %u)",
			    (unsigned long long)prio, RT_PRIO_MAX);
	cfg->sched_prio = (unsigned)prio;
	return 0;
}

static int interp_vm_rt(struct parser *p, const struct section *s,
			const struct entry *const *slot)
{
	struct vm_config *cfg = p->cfg;
	const struct entry *e;
	uint64_t v;
	int ret;

	e = slot[VM_PIN];
	if (e) {
		ret = interp_pin(p, s, e);
		if (ret)
			return ret;
	}
	e = slot[VM_IO_CPUS];
	if (e) {
		ret = interp_io_cpus(p, s, e);
		if (ret)
			return ret;
	}
	e = slot[VM_SCHED];
	if (e) {
		ret = interp_sched(p, s, e);
		if (ret)
			return ret;
	}
	e = slot[VM_MLOCK];
	if (e) {
		ret = val_bool(p, s, e, &cfg->mlock);
		if (ret)
			return ret;
		cfg->mlock_loc = e->loc;
	}
	e = slot[VM_HALT_POLL_NS];
	if (e) {
		ret = val_u64(p, s, e, &v);
		if (ret)
			return ret;
		/* KVM_ENABLE_CAP(KVM_CAP_HALT_POLL) takes an unsigned int */
		if (v > UINT32_MAX)
			return perr(p, &e->loc, s->display, e->key,
				    "%.80s is out of range (0 to %u ns)",
				    e->value, UINT32_MAX);
		cfg->has_halt_poll_ns = true;
		cfg->halt_poll_ns = (uint32_t)v;
		cfg->halt_poll_loc = e->loc;
	}
	return 0;
}

static int interp_vm(struct parser *p, const struct section *s)
{
	struct vm_config *cfg = p->cfg;
	const struct entry *slot[VM_NKEYS] = { NULL };
	const struct entry *e;
	uint64_t v;
	unsigned idx;
	int ret;

	if (s) {
		ret = take_slots(p, s, vm_keys, VM_NKEYS, NULL, slot);
		if (ret)
			return ret;
	}
	e = slot[VM_NAME];
	if (e) {
		if (!name_valid(e->value, strlen(e->value)))
			return perr(p, &e->loc, s->display, e->key,
				    "bad name '%.80s': use 1 to %u characters "
				    "from A-Z a-z 0-9 _ . -",
				    e->value, CFG_NAME_MAX);
		cfg->name = xstrdup(p, e->value);
	} else {
		cfg->name = default_vm_name(p, cfg->path);
	}
	if (!cfg->name)
		return -ENOMEM;

	cfg->vcpus = 1;
	e = slot[VM_VCPUS];
	if (e) {
		ret = val_u64(p, s, e, &v);
		if (ret)
			return ret;
		if (v < 1 || v > VMM_MAX_VCPUS)
			return perr(p, &e->loc, s->display, e->key,
				    "%.80s is out of range (1 to %u)", e->value,
				    VMM_MAX_VCPUS);
		cfg->vcpus = (unsigned)v;
	}

	cfg->unhandled_io = IO_POLICY_LOG;
	e = slot[VM_UNHANDLED_IO];
	if (e) {
		ret = val_enum(p, s, e, io_policy_names, &idx);
		if (ret)
			return ret;
		cfg->unhandled_io = (enum io_policy)idx;
	}

	cfg->timeout_ms = 0;
	e = slot[VM_TIMEOUT];
	if (e) {
		ret = parse_duration_ms(e->value, &cfg->timeout_ms);
		if (ret == -ERANGE)
			return perr(p, &e->loc, s->display, e->key,
				    "duration '%.80s' is too large", e->value);
		if (ret)
			return perr(p, &e->loc, s->display, e->key,
				    "bad duration '%.80s' (expected a number "
				    "with an optional unit ms, s or m; 0: no "
				    "timeout)",
				    e->value);
	}

	cfg->reboot_restarts = false;
	e = slot[VM_ON_REBOOT];
	if (e) {
		ret = val_enum(p, s, e, on_reboot_names, &idx);
		if (ret)
			return ret;
		cfg->reboot_restarts = idx == 1;
	}
	cfg->triple_fault_resets = false;
	e = slot[VM_TRIPLE_FAULT];
	if (e) {
		ret = val_enum(p, s, e, triple_fault_names, &idx);
		if (ret)
			return ret;
		cfg->triple_fault_resets = idx == 1;
	}
	cfg->pv_eoi = true;
	e = slot[VM_PV_EOI];
	if (e) {
		ret = val_bool(p, s, e, &cfg->pv_eoi);
		if (ret)
			return ret;
	}
	return interp_vm_rt(p, s, slot);
}

enum { MEM_BASE, MEM_SIZE, MEM_FILE, MEM_READONLY, MEM_HUGEPAGES, MEM_NKEYS };
static const char *const mem_keys[] = { "base", "size", "file", "readonly",
					"hugepages" };

/* hugepages = yes | no | SIZE: anonymous RAM on hugepages (memfd with
 * MFD_HUGETLB); whether the host has them is rt.c's check. */
static int interp_hugepages(struct parser *p, const struct section *s,
			    const struct entry *e, struct cfg_memory *m,
			    bool has_file)
{
	char sz[32];
	uint64_t v;
	bool on;

	m->hugepages_loc = e->loc;
	if (!parse_bool(e->value, &on)) {
		m->hugepages = on ? MEM_HUGEPAGE_DEFAULT : 0;
	} else {
		if (parse_size(e->value, &v))
			return perr(p, &e->loc, s->display, e->key,
				    "bad value '%.80s' (expected yes, no or a "
				    "hugepage size such as 2M or 1G)",
				    e->value);
		if (!IS_POW2(v) || v <= CFG_PAGE)
			return perr(p, &e->loc, s->display, e->key,
				    "%.80s is not a hugepage size (a power of "
				    "two above 4K, such as 2M or 1G)",
				    e->value);
		m->hugepages = v;
	}
	if (!m->hugepages)
		return 0;
	if (has_file)
		return perr(p, &e->loc, s->display, e->key,
			    "not with file: for a file on hugetlbfs, give "
			    "the file and leave hugepages unset");
	if (m->hugepages == MEM_HUGEPAGE_DEFAULT)
		return 0; /* the size is the host's; rt_check() */
	if (m->size % m->hugepages)
		return perr(p, &e->loc, s->display, e->key,
			    "size 0x%llx is not a multiple of the %s "
			    "hugepage size",
			    (unsigned long long)m->size,
			    fmt_size(m->hugepages, sz, sizeof(sz)));
	if (m->base % m->hugepages)
		return perr(p, &e->loc, s->display, e->key,
			    "base 0x%llx is not aligned to the %s hugepage "
			    "size",
			    (unsigned long long)m->base,
			    fmt_size(m->hugepages, sz, sizeof(sz)));
	return 0;
}

static int interp_memory(struct parser *p, const struct section *s,
			 struct cfg_memory *m)
{
	const struct entry *slot[MEM_NKEYS];
	const struct entry *e;
	uint64_t end;
	struct stat st;
	int ret;

	ret = take_slots(p, s, mem_keys, MEM_NKEYS, NULL, slot);
	if (ret)
		return ret;
	m->name = xstrdup(p, s->name);
	if (!m->name)
		return -ENOMEM;
	m->loc = s->loc;

	e = slot[MEM_BASE];
	if (!e)
		return perr(p, &s->loc, s->display, "base",
			    "required key missing");
	ret = val_u64(p, s, e, &m->base);
	if (ret)
		return ret;
	if (m->base % CFG_PAGE)
		return perr(p, &e->loc, s->display, e->key,
			    "0x%llx is not 4 KiB aligned",
			    (unsigned long long)m->base);

	e = slot[MEM_SIZE];
	if (!e)
		return perr(p, &s->loc, s->display, "size",
			    "required key missing");
	ret = val_size(p, s, e, &m->size);
	if (ret)
		return ret;
	if (!m->size)
		return perr(p, &e->loc, s->display, e->key,
			    "size must not be zero");
	if (m->size % CFG_PAGE)
		return perr(p, &e->loc, s->display, e->key,
			    "%.80s is not a multiple of 4 KiB", e->value);
	if (add_overflows(m->base, m->size, &end))
		return perr(p, &e->loc, s->display, e->key,
			    "base 0x%llx + size 0x%llx wraps past the end of "
			    "the address space",
			    (unsigned long long)m->base,
			    (unsigned long long)m->size);

	e = slot[MEM_READONLY];
	if (e) {
		ret = val_bool(p, s, e, &m->readonly);
		if (ret)
			return ret;
	}

	e = slot[MEM_FILE];
	if (!e) {
		if (m->readonly)
			return perr(p, &slot[MEM_READONLY]->loc, s->display,
				    "readonly",
				    "a read-only region needs a file (it would "
				    "only read zeros)");
		if (slot[MEM_HUGEPAGES])
			return interp_hugepages(p, s, slot[MEM_HUGEPAGES], m,
						false);
		return 0;
	}
	if (slot[MEM_HUGEPAGES]) {
		ret = interp_hugepages(p, s, slot[MEM_HUGEPAGES], m, true);
		if (ret)
			return ret;
	}
	ret = val_path(p, s, e, e->value, &m->file);
	if (ret)
		return ret;
	if (m->readonly) {
		/* mem_add_region() would fail later; say why now */
		ret = check_input_file(p, s, e, m->file, &st);
		if (ret)
			return ret;
		if ((uint64_t)st.st_size < m->size)
			return perr(p, &e->loc, s->display, e->key,
				    "'%s' is %llu bytes, smaller than the "
				    "read-only region (%llu bytes)",
				    m->file, (unsigned long long)st.st_size,
				    (unsigned long long)m->size);
	} else if (!stat(m->file, &st)) {
		if (S_ISDIR(st.st_mode))
			return perr(p, &e->loc, s->display, e->key,
				    "'%s' is a directory", m->file);
	} else if (errno != ENOENT) {
		return perr(p, &e->loc, s->display, e->key, "'%s': %s", m->file,
			    strerror(errno));
	}
	/* A missing writable file is created by mem_add_region(). */
	return 0;
}

static int check_memory_overlaps(struct parser *p)
{
	const struct vm_config *cfg = p->cfg;

	for (unsigned j = 0; j < cfg->nr_mem; j++) {
		const struct cfg_memory *b = &cfg->mem[j];

		for (unsigned i = 0; i < j; i++) {
			const struct cfg_memory *a = &cfg->mem[i];
			const struct section *sb;
			const struct entry *eb = NULL;

			if (!ranges_overlap(a->base, a->size, b->base, b->size))
				continue;
			/* report at the second region's base line */
			sb = &p->sects[find_section(p, SECT_MEMORY, b->name,
						    strlen(b->name))];
			for (unsigned k = 0; k < sb->nr_entries; k++)
				if (!strcmp(sb->entries[k].key, "base"))
					eb = &sb->entries[k];
			return perr(p, eb ? &eb->loc : &b->loc, sb->display,
				    "base",
				    "0x%llx-0x%llx overlaps [memory \"%s\"] "
				    "0x%llx-0x%llx (%s:%u)",
				    (unsigned long long)b->base,
				    (unsigned long long)(b->base + b->size - 1),
				    a->name, (unsigned long long)a->base,
				    (unsigned long long)(a->base + a->size - 1),
				    a->loc.file, a->loc.line);
		}
	}
	return 0;
}

static bool in_ram(const struct vm_config *cfg, uint64_t addr)
{
	for (unsigned i = 0; i < cfg->nr_mem; i++)
		if (addr >= cfg->mem[i].base &&
		    addr - cfg->mem[i].base < cfg->mem[i].size)
			return true;
	return false;
}

enum {
	BOOT_FORMAT,
	BOOT_IMAGE,
	BOOT_CMDLINE,
	BOOT_MODULE,
	BOOT_LOAD_ADDRESS,
	BOOT_ENTRY,
	BOOT_MODE,
	BOOT_INITRD,
	BOOT_DTB,
	BOOT_NKEYS
};
static const char *const boot_keys[] = {
	"format", "image", "cmdline", "module", "load-address",
	"entry",  "mode",  "initrd",  "dtb",
};
static const bool boot_cont_ok[BOOT_NKEYS] = {
	[BOOT_CMDLINE] = true, [BOOT_MODULE] = true
};

static int interp_module(struct parser *p, const struct section *s,
			 const struct entry *e, struct cfg_module *mod)
{
	const char *v = e->value, *end = v;
	struct stat st;
	char *path;
	int ret;

	while (*end && !is_space(*end))
		end++;
	if (end == v)
		return perr(p, &e->loc, s->display, e->key,
			    "empty value (expected PATH [ARGS])");
	path = xstrndup(p, v, (size_t)(end - v));
	if (!path)
		return -ENOMEM;
	ret = val_path(p, s, e, path, &mod->path);
	free(path);
	if (ret)
		return ret;
	mod->cmdline = xstrdup(p, e->value);
	if (!mod->cmdline)
		return -ENOMEM;
	mod->loc = e->loc;
	return check_input_file(p, s, e, mod->path, &st);
}

static int interp_boot(struct parser *p, const struct section *s)
{
	struct vm_config *cfg = p->cfg;
	struct cfg_boot *b = &cfg->boot;
	const struct entry *slot[BOOT_NKEYS] = { NULL };
	const struct entry *e;
	struct stat st;
	unsigned idx, nmod = 0;
	int ret;

	b->format = BOOT_FORMAT_AUTO;
	b->mode = CPU_MODE_DEFAULT;
	if (!s) {
		struct cfg_loc loc = { p->file, 0 };

		return perr(p, &loc, "boot", "image",
			    "required key missing (no [boot] section)");
	}
	b->loc = s->loc;
	ret = take_slots(p, s, boot_keys, BOOT_NKEYS, boot_cont_ok, slot);
	if (ret)
		return ret;

	e = slot[BOOT_FORMAT];
	if (e) {
		ret = val_enum(p, s, e, boot_format_names, &idx);
		if (ret)
			return ret;
		b->format = (enum boot_format)idx;
		b->format_loc = e->loc;
	}

	e = slot[BOOT_IMAGE];
	if (!e)
		return perr(p, &s->loc, s->display, "image",
			    "required key missing");
	b->image_loc = e->loc;
	ret = val_path(p, s, e, e->value, &b->image);
	if (ret)
		return ret;
	ret = check_input_file(p, s, e, b->image, &st);
	if (ret)
		return ret;

	b->cmdline =
		xstrdup(p, slot[BOOT_CMDLINE] ? slot[BOOT_CMDLINE]->value : "");
	if (!b->cmdline)
		return -ENOMEM;

	for (unsigned j = 0; j < s->nr_entries; j++)
		nmod += !strcmp(s->entries[j].key, "module");
	if (nmod > CFG_MAX_MODULES)
		return perr(p, &slot[BOOT_MODULE]->loc, s->display, "module",
			    "too many modules (%u, at most %u)", nmod,
			    CFG_MAX_MODULES);
	if (nmod && b->format != BOOT_FORMAT_AUTO &&
	    b->format != BOOT_FORMAT_MULTIBOOT &&
	    b->format != BOOT_FORMAT_MULTIBOOT2)
		return perr(p, &slot[BOOT_MODULE]->loc, s->display, "module",
			    "modules need a multiboot format (format is %s)",
			    boot_format_name(b->format));

	e = slot[BOOT_INITRD];
	if (e) {
		if (b->format != BOOT_FORMAT_AUTO &&
		    b->format != BOOT_FORMAT_LINUX &&
		    b->format != BOOT_FORMAT_PVH)
			return perr(p, &e->loc, s->display, e->key,
				    "an initrd needs format = linux or pvh "
				    "(format is %s)",
				    boot_format_name(b->format));
		if (nmod)
			return perr(p, &e->loc, s->display, e->key,
				    "initrd and module exclude each other "
				    "(Linux/PVH take an initrd, Multiboot "
				    "takes modules)");
		ret = val_path(p, s, e, e->value, &b->initrd);
		if (ret)
			return ret;
		ret = check_input_file(p, s, e, b->initrd, &st);
		if (ret)
			return ret;
		b->initrd_loc = e->loc;
	}
	e = slot[BOOT_DTB];
	if (e) {
		/* Whether this arch takes one, and the blob's contents, are
		 * arch_check_config()'s to judge. */
		ret = val_path(p, s, e, e->value, &b->dtb);
		if (ret)
			return ret;
		ret = check_input_file(p, s, e, b->dtb, &st);
		if (ret)
			return ret;
		b->dtb_loc = e->loc;
	}
	if (nmod) {
		b->modules = calloc(nmod, sizeof(*b->modules));
		if (!b->modules)
			return oom(p);
	}
	for (unsigned j = 0; j < s->nr_entries; j++) {
		if (strcmp(s->entries[j].key, "module"))
			continue;
		ret = interp_module(p, s, &s->entries[j],
				    &b->modules[b->nr_modules++]);
		if (ret)
			return ret;
	}

	if (b->format != BOOT_FORMAT_RAW) {
		static const unsigned raw_only[] = { BOOT_LOAD_ADDRESS,
						     BOOT_ENTRY, BOOT_MODE };

		for (unsigned i = 0; i < ARRAY_SIZE(raw_only); i++) {
			e = slot[raw_only[i]];
			if (e)
				return perr(p, &e->loc, s->display, e->key,
					    "only valid with format = raw "
					    "(format is %s)",
					    boot_format_name(b->format));
		}
		return 0;
	}

	/* raw: load-address required, entry defaults to load-address; both
	 * must be in RAM. mode is optional here: whether the arch needs one
	 * is arch_check_config()'s rule (x86 does, arm64 has none). */
	e = slot[BOOT_LOAD_ADDRESS];
	if (!e)
		return perr(p, &slot[BOOT_FORMAT]->loc, s->display,
			    "load-address", "required with format = raw");
	ret = val_u64(p, s, e, &b->load_address);
	if (ret)
		return ret;
	b->has_load_address = true;
	if (!in_ram(cfg, b->load_address))
		return perr(p, &e->loc, s->display, e->key,
			    "0x%llx is not inside any [memory] region",
			    (unsigned long long)b->load_address);

	b->entry = b->load_address;
	e = slot[BOOT_ENTRY];
	if (e) {
		ret = val_u64(p, s, e, &b->entry);
		if (ret)
			return ret;
		b->has_entry = true;
		if (!in_ram(cfg, b->entry))
			return perr(p, &e->loc, s->display, e->key,
				    "0x%llx is not inside any [memory] region",
				    (unsigned long long)b->entry);
	}

	e = slot[BOOT_MODE];
	if (!e)
		return 0;
	/* "default" is not a choice a user may write */
	ret = val_enum(p, s, e, cpu_mode_names + 1, &idx);
	if (ret)
		return ret;
	b->mode = (enum cpu_mode)(idx + 1);
	b->mode_loc = e->loc;
	return 0;
}

/* Parse a device value or default of the given kind into v->num / v->str. */
static int dev_parse_value(struct parser *p, const struct section *s,
			   const struct entry *e, const struct dev_param *par,
			   struct cfg_value *v)
{
	uint64_t n;
	unsigned idx;
	bool bv;
	int ret;

	switch (par->kind) {
	case PARAM_U64:
	case PARAM_SIZE:
		ret = par->kind == PARAM_U64 ? val_u64(p, s, e, &n)
					     : val_size(p, s, e, &n);
		if (ret)
			return ret;
		if (n < par->min || (par->max && n > par->max)) {
			bool hex = !strncmp(e->value, "0x", 2) ||
				   !strncmp(e->value, "0X", 2);

			return perr(p, &e->loc, s->display, e->key,
				    hex ? "%.80s is out of range (0x%llx to "
					  "0x%llx)"
					: "%.80s is out of range (%llu to "
					  "%llu)",
				    e->value, (unsigned long long)par->min,
				    (unsigned long long)(par->max
								 ? par->max
								 : UINT64_MAX));
		}
		v->num = n;
		break;
	case PARAM_BOOL:
		ret = val_bool(p, s, e, &bv);
		if (ret)
			return ret;
		v->num = bv;
		break;
	case PARAM_ENUM:
		ret = val_enum(p, s, e, par->choices, &idx);
		if (ret)
			return ret;
		v->num = idx;
		break;
	case PARAM_PATH:
		return val_path(p, s, e, e->value, &v->str);
	case PARAM_STR:
		break;
	}
	v->str = xstrdup(p, e->value);
	return v->str ? 0 : -ENOMEM;
}

static int interp_device(struct parser *p, const struct section *s,
			 struct cfg_device *d)
{
	const struct device_type *type;
	const struct entry **slot = NULL;
	const char **keys = NULL;
	bool *cont_ok = NULL;
	const struct entry *te = NULL;
	unsigned nparams = 0, ntypes = 0;
	char list[320];
	int ret;

	d->name = xstrdup(p, s->name);
	if (!d->name)
		return -ENOMEM;
	d->loc = s->loc;
	list[0] = '\0';
	for (size_t used = 0; device_types[ntypes] && used < sizeof(list);
	     ntypes++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
				 ntypes ? ", " : "",
				 device_types[ntypes]->name);

		used = w < 0 ? sizeof(list) : used + (size_t)w;
	}
	for (unsigned j = 0; j < s->nr_entries; j++)
		if (!strcmp(s->entries[j].key, "type"))
			te = &s->entries[j];
	if (!te)
		return perr(p, &s->loc, s->display, "type",
			    "required key missing (one of: %s)", list);
	if (te->cont_line) {
		struct cfg_loc cl = { te->loc.file, te->cont_line };

		return perr(p, &cl, s->display, "type",
			    "indented line continues this value (do not "
			    "indent keys)");
	}
	type = device_type_find(te->value);
	if (!type)
		return perr(p, &te->loc, s->display, "type",
			    "unknown device type '%.80s' (one of: %s)",
			    te->value, list);
	d->type = type;

	while (type->params && type->params[nparams].key)
		nparams++;
	/* keys[0] is "type"; keys[i + 1] is params[i] */
	keys = calloc(nparams + 1, sizeof(*keys));
	cont_ok = calloc(nparams + 1, sizeof(*cont_ok));
	slot = calloc(nparams + 1, sizeof(*slot));
	d->values = calloc(nparams ? nparams : 1, sizeof(*d->values));
	if (!keys || !cont_ok || !slot || !d->values) {
		ret = oom(p);
		goto out;
	}
	keys[0] = "type";
	for (unsigned i = 0; i < nparams; i++) {
		keys[i + 1] = type->params[i].key;
		cont_ok[i + 1] = type->params[i].kind == PARAM_STR;
	}
	ret = take_slots(p, s, keys, nparams + 1, cont_ok, slot);
	if (ret)
		goto out;

	for (unsigned i = 0; i < nparams; i++) {
		const struct dev_param *par = &type->params[i];
		struct cfg_value *v = &d->values[d->nr_values++];
		const struct entry *e = slot[i + 1];
		struct entry def;

		v->key = par->key;
		if (e) {
			v->set = true;
			v->loc = e->loc;
			ret = dev_parse_value(p, s, e, par, v);
			if (ret)
				goto out;
			continue;
		}
		if (par->required) {
			ret = perr(p, &s->loc, s->display, par->key,
				   "required key missing");
			goto out;
		}
		v->loc.file = p->file;
		v->loc.line = 0;
		if (!par->def)
			continue;
		/* a default goes through the same parser; a bad one is a
		 * device-table bug, reported at the section header */
		def.key = (char *)par->key;
		def.value = (char *)par->def;
		def.loc = s->loc;
		def.cont_line = 0;
		ret = dev_parse_value(p, s, &def, par, v);
		if (ret)
			goto out;
	}
	if (type->check) {
		ret = type->check(d, p->err);
		if (ret) {
			if (!p->err->msg[0])
				cfg_error_at(p->err, &s->loc, s->display, NULL,
					     "rejected by %s", type->name);
			p->rc = ret < 0 ? ret : -EINVAL;
			goto out;
		}
	}
out:
	free(keys);
	free(cont_ok);
	free(slot);
	return ret;
}

/* The value of device d that chose a resource (NULL: none named). */
static const struct cfg_value *res_value(const struct cfg_device *d,
					 const char *key)
{
	for (unsigned i = 0; key && i < d->nr_values; i++)
		if (!strcmp(d->values[i].key, key))
			return &d->values[i];
	return NULL;
}

/* Where device d chose a resource: the key's location if it was set,
 * else the section header. */
static const struct cfg_loc *res_loc(const struct cfg_device *d,
				     const char *key)
{
	const struct cfg_value *v = res_value(d, key);

	return v && v->set ? &v->loc : &d->loc;
}

static const char *const res_kind_names[] = { "port range", "MMIO range",
					      "IRQ" };

static int fmt_res(char *buf, size_t len, const struct dev_resource *r)
{
	if (r->kind == DEV_RES_IRQ)
		return snprintf(buf, len, "IRQ %llu",
				(unsigned long long)r->base);
	if (r->kind == DEV_RES_PIO && r->size == 1)
		return snprintf(buf, len, "port 0x%llx",
				(unsigned long long)r->base);
	return snprintf(buf, len, "%s 0x%llx-0x%llx", res_kind_names[r->kind],
			(unsigned long long)r->base,
			(unsigned long long)(r->base + r->size - 1));
}

static int check_resources(struct parser *p)
{
	const struct vm_config *cfg = p->cfg;
	unsigned nd = cfg->nr_devices;

	p->res = calloc(nd ? nd : 1, sizeof(*p->res));
	p->nr_res = calloc(nd ? nd : 1, sizeof(*p->nr_res));
	if (!p->res || !p->nr_res)
		return oom(p);
	for (unsigned j = 0; j < nd; j++) {
		const struct cfg_device *dj = &cfg->devices[j];
		char sect[48];
		unsigned n = 0;
		uint64_t end;

		snprintf(sect, sizeof(sect), "device \"%s\"", dj->name);
		if (dj->type->resources)
			n = dj->type->resources(dj, p->res[j],
						DEV_MAX_RESOURCES);
		p->nr_res[j] = n = MIN(n, DEV_MAX_RESOURCES);
		for (unsigned r = 0; r < n; r++) {
			const struct dev_resource *rr = &p->res[j][r];
			const struct cfg_loc *lj = res_loc(dj, rr->key);
			char a[64], b[64];

			fmt_res(a, sizeof(a), rr);
			if (!rr->size ||
			    add_overflows(rr->base, rr->size - 1, &end))
				return perr(p, lj, sect, rr->key,
					    "bad resource range (base 0x%llx "
					    "size 0x%llx)",
					    (unsigned long long)rr->base,
					    (unsigned long long)rr->size);
			if (rr->kind == DEV_RES_PIO && end >= CFG_PIO_END)
				return perr(p, lj, sect, rr->key,
					    "%s is beyond the last port 0xffff",
					    a);
			for (unsigned m = 0;
			     rr->kind == DEV_RES_MMIO && m < cfg->nr_mem; m++) {
				const struct cfg_memory *mm = &cfg->mem[m];

				if (!ranges_overlap(rr->base, rr->size,
						    mm->base, mm->size))
					continue;
				return perr(p, lj, sect, rr->key,
					    "%s overlaps [memory \"%s\"] "
					    "0x%llx-0x%llx (%s:%u)",
					    a, mm->name,
					    (unsigned long long)mm->base,
					    (unsigned long long)(mm->base +
								 mm->size - 1),
					    mm->loc.file, mm->loc.line);
			}
			for (unsigned i = 0; i < j; i++) {
				const struct cfg_device *di = &cfg->devices[i];

				for (unsigned q = 0; q < p->nr_res[i]; q++) {
					const struct dev_resource *rq =
						&p->res[i][q];
					const struct cfg_value *vi;
					const struct cfg_loc *li;

					if (rq->kind != rr->kind ||
					    !ranges_overlap(rq->base, rq->size,
							    rr->base, rr->size))
						continue;
					vi = res_value(di, rq->key);
					li = res_loc(di, rq->key);
					fmt_res(b, sizeof(b), rq);
					if (rr->kind == DEV_RES_IRQ)
						snprintf(b, sizeof(b),
							 "is already claimed "
							 "by");
					else
						strcat(b, " of");
					return perr(
						p, lj, sect, rr->key,
						"%s %s%s [device \"%s\"] "
						"(%s%s%s%s at %s:%u)",
						a,
						rr->kind == DEV_RES_IRQ
							? ""
							: "overlaps ",
						b, di->name,
						vi ? vi->key : "section",
						vi ? " = " : "",
						vi && vi->str ? vi->str : "",
						vi && !vi->set ? " by default, "
								 "section"
							       : "",
						li->file, li->line);
				}
			}
		}
	}
	return 0;
}

static void free_parser(struct parser *p)
{
	for (unsigned i = 0; i < p->nr_sects; i++) {
		struct section *s = &p->sects[i];

		for (unsigned j = 0; j < s->nr_entries; j++) {
			free(s->entries[j].key);
			free(s->entries[j].value);
		}
		free(s->entries);
		free(s->name);
		free(s->display);
	}
	free(p->sects);
	free(p->res);
	free(p->nr_res);
}

static int interpret(struct parser *p)
{
	struct vm_config *cfg = p->cfg;
	unsigned nmem = count_sections(p, SECT_MEMORY);
	unsigned ndev = count_sections(p, SECT_DEVICE);
	const struct section *vm = NULL, *boot = NULL;
	int ret;

	for (unsigned i = 0; i < p->nr_sects; i++) {
		if (p->sects[i].kind == SECT_VM)
			vm = &p->sects[i];
		else if (p->sects[i].kind == SECT_BOOT)
			boot = &p->sects[i];
	}
	ret = interp_vm(p, vm);
	if (ret)
		return ret;

	if (!nmem) {
		struct cfg_loc loc = { p->file, 0 };

		return perr(p, &loc, NULL, NULL,
			    "no [memory \"NAME\"] section: the guest needs "
			    "RAM (base and size)");
	}
	cfg->mem = calloc(nmem, sizeof(*cfg->mem));
	if (ndev)
		cfg->devices = calloc(ndev, sizeof(*cfg->devices));
	if (!cfg->mem || (ndev && !cfg->devices))
		return oom(p);
	for (unsigned i = 0; i < p->nr_sects; i++) {
		if (p->sects[i].kind != SECT_MEMORY)
			continue;
		ret = interp_memory(p, &p->sects[i], &cfg->mem[cfg->nr_mem++]);
		if (ret)
			return ret;
	}
	ret = check_memory_overlaps(p);
	if (ret)
		return ret;

	ret = interp_boot(p, boot);
	if (ret)
		return ret;

	for (unsigned i = 0; i < p->nr_sects; i++) {
		if (p->sects[i].kind != SECT_DEVICE)
			continue;
		ret = interp_device(p, &p->sects[i],
				    &cfg->devices[cfg->nr_devices++]);
		if (ret)
			return ret;
	}
	return check_resources(p);
}

static int load(struct vm_config *cfg, const char *path, const char *dir,
		const char *text, size_t len, const char *const *overrides,
		unsigned nr_overrides, struct cfg_error *err)
{
	struct parser p = { .cfg = cfg, .err = err, .cur = -1 };
	int ret;

	p.text = text;
	p.len = len;
	cfg->path = xstrdup(&p, path);
	cfg->dir = xstrdup(&p, dir);
	p.file = cfg->path ? intern(&p, path) : NULL;
	if (!cfg->path || !cfg->dir || !p.file)
		goto fail;
	ret = parse_text(&p);
	for (unsigned i = 0; !ret && i < nr_overrides; i++)
		ret = apply_override(&p, overrides[i], i + 1);
	if (!ret)
		ret = interpret(&p);
	if (ret)
		goto fail;
	free_parser(&p);
	return 0;
fail:
	ret = p.rc ? p.rc : -ENOMEM;
	if (!p.rc)
		oom(&p);
	free_parser(&p);
	config_free(cfg);
	return ret;
}

int config_load_string(struct vm_config *cfg, const char *name, const char *dir,
		       const char *text, const char *const *overrides,
		       unsigned nr_overrides, struct cfg_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	err->msg[0] = '\0';
	return load(cfg, name ? name : "<string>", dir ? dir : ".", text,
		    strlen(text), overrides, nr_overrides, err);
}

int config_load(struct vm_config *cfg, const char *path,
		const char *const *overrides, unsigned nr_overrides,
		struct cfg_error *err)
{
	struct cfg_loc loc = { path, 0 };
	const char *slash = strrchr(path, '/');
	char *buf = NULL, *dir = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	err->msg[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		cfg_error_at(err, &loc, NULL, NULL, "cannot open: %s",
			     strerror(errno));
		return ret;
	}
	/* Read to EOF, so pipes (<(...)) work too, up to CFG_FILE_MAX. */
	for (;;) {
		if (len == cap) {
			char *nb;

			if (cap > CFG_FILE_MAX) {
				cfg_error_at(err, &loc, NULL, NULL,
					     "file too large (more than %d "
					     "bytes)",
					     CFG_FILE_MAX);
				ret = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				ret = -ENOMEM;
				cfg_error_at(err, &loc, NULL, NULL,
					     "out of memory");
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			cfg_error_at(err, &loc, NULL, NULL, "cannot read: %s",
				     strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir) {
		ret = -ENOMEM;
		cfg_error_at(err, &loc, NULL, NULL, "out of memory");
		goto out;
	}
	ret = load(cfg, path, dir, buf, len, overrides, nr_overrides, err);
out:
	free(dir);
	free(buf);
	close(fd);
	return ret;
}

void config_free(struct vm_config *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		free(cfg->mem[i].name);
		free(cfg->mem[i].file);
	}
	free(cfg->mem);
	free(cfg->boot.image);
	free(cfg->boot.cmdline);
	for (unsigned i = 0; i < cfg->boot.nr_modules; i++) {
		free(cfg->boot.modules[i].path);
		free(cfg->boot.modules[i].cmdline);
	}
	free(cfg->boot.modules);
	free(cfg->boot.initrd);
	free(cfg->boot.dtb);
	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		struct cfg_device *d = &cfg->devices[i];

		for (unsigned j = 0; j < d->nr_values; j++)
			free(d->values[j].str);
		free(d->values);
		free(d->name);
	}
	free(cfg->devices);
	free(cfg->pin);
	free(cfg->io_cpus);
	for (unsigned i = 0; i < cfg->nr_strings; i++)
		free(cfg->strings[i]);
	free(cfg->strings);
	free(cfg->path);
	free(cfg->dir);
	free(cfg->name);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- accessors ---- */

const struct cfg_value *cfg_dev_value(const struct cfg_device *d,
				      const char *key)
{
	for (unsigned i = 0; i < d->nr_values; i++)
		if (!strcmp(d->values[i].key, key))
			return &d->values[i];
	fprintf(stderr, "vmm: BUG: device type %s has no key '%s'\n",
		d->type ? d->type->name : "?", key);
	abort();
}

uint64_t cfg_dev_num(const struct cfg_device *d, const char *key)
{
	return cfg_dev_value(d, key)->num;
}

const char *cfg_dev_str(const struct cfg_device *d, const char *key)
{
	return cfg_dev_value(d, key)->str;
}

bool cfg_dev_isset(const struct cfg_device *d, const char *key)
{
	return cfg_dev_value(d, key)->set;
}

void cfg_dev_error(struct cfg_error *err, const struct cfg_device *d,
		   const char *key, const char *fmt, ...)
{
	const struct cfg_loc *loc = res_loc(d, key);
	char sect[48];
	va_list ap;

	snprintf(sect, sizeof(sect), "device \"%s\"", d->name);
	va_start(ap, fmt);
	cfg_verror_at(err, loc, sect, key, fmt, ap);
	va_end(ap);
}

/* ---- config_print ---- */

static int cmp_mem(const void *a, const void *b)
{
	const struct cfg_memory *x = *(const struct cfg_memory *const *)a;
	const struct cfg_memory *y = *(const struct cfg_memory *const *)b;

	return x->base < y->base ? -1 : x->base > y->base;
}

struct print_res {
	struct dev_resource r;
	const char *dev;
};

static int cmp_res(const void *a, const void *b)
{
	const struct print_res *x = a, *y = b;

	if (x->r.kind != y->r.kind)
		return x->r.kind < y->r.kind ? -1 : 1;
	return x->r.base < y->r.base ? -1 : x->r.base > y->r.base;
}

static void print_loc(FILE *out, const struct cfg_loc *loc)
{
	if (loc->line)
		fprintf(out, "  (%s:%u)", loc->file, loc->line);
}

void config_print(const struct vm_config *cfg, FILE *out)
{
	const struct cfg_boot *b = &cfg->boot;
	const struct cfg_memory **mem;
	struct print_res *res;
	unsigned nres = 0;
	char sz[32];

	fprintf(out, "vm\n");
	fprintf(out, "  name          %s\n", cfg->name);
	fprintf(out, "  vcpus         %u\n", cfg->vcpus);
	fprintf(out, "  unhandled-io  %s\n", io_policy_name(cfg->unhandled_io));
	fprintf(out, "  on-reboot     %s\n",
		cfg->reboot_restarts ? "restart" : "exit");
	fprintf(out, "  triple-fault  %s\n",
		cfg->triple_fault_resets ? "reset" : "fault");
	fprintf(out, "  pv-eoi        %s\n", cfg->pv_eoi ? "yes" : "no");
	if (cfg->timeout_ms)
		fprintf(out, "  timeout       %llu ms\n",
			(unsigned long long)cfg->timeout_ms);
	else
		fprintf(out, "  timeout       none\n");
	if (cfg->pin) {
		fprintf(out, "  pin          ");
		for (unsigned i = 0; i < cfg->vcpus; i++)
			fprintf(out, " vCPU %u -> CPU %u%s", i, cfg->pin[i],
				i + 1 < cfg->vcpus ? "," : "\n");
	}
	if (cfg->sched != SCHED_POLICY_OTHER)
		fprintf(out, "  sched         %s:%u\n",
			sched_policy_name(cfg->sched), cfg->sched_prio);
	if (cfg->io_cpus) {
		fprintf(out, "  io-cpus      ");
		for (unsigned i = 0; i < cfg->nr_io_cpus; i++)
			fprintf(out, "%s%u", i ? "," : " ", cfg->io_cpus[i]);
		fputc('\n', out);
	}
	if (cfg->mlock)
		fprintf(out, "  mlock         yes\n");
	if (cfg->has_halt_poll_ns)
		fprintf(out, "  halt-poll-ns  %u\n", cfg->halt_poll_ns);

	fprintf(out, "\nmemory map\n");
	mem = calloc(cfg->nr_mem ? cfg->nr_mem : 1, sizeof(*mem));
	if (mem) {
		for (unsigned i = 0; i < cfg->nr_mem; i++)
			mem[i] = &cfg->mem[i];
		qsort(mem, cfg->nr_mem, sizeof(*mem), cmp_mem);
	}
	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		const struct cfg_memory *m = mem ? mem[i] : &cfg->mem[i];

		fprintf(out, "  %-16s 0x%016llx-0x%016llx %10s  ", m->name,
			(unsigned long long)m->base,
			(unsigned long long)(m->base + m->size - 1),
			fmt_size(m->size, sz, sizeof(sz)));
		if (m->file)
			fprintf(out, "file %s%s\n", m->file,
				m->readonly ? " (read-only)" : "");
		else if (m->hugepages == MEM_HUGEPAGE_DEFAULT)
			fprintf(out, "anonymous, hugepages\n");
		else if (m->hugepages)
			fprintf(out, "anonymous, %s hugepages\n",
				fmt_size(m->hugepages, sz, sizeof(sz)));
		else
			fprintf(out, "anonymous\n");
	}
	free(mem);

	fprintf(out, "\nboot\n");
	fprintf(out, "  format        %s\n", boot_format_name(b->format));
	fprintf(out, "  image         %s\n", b->image ? b->image : "");
	fprintf(out, "  cmdline       \"%s\"\n", b->cmdline ? b->cmdline : "");
	for (unsigned i = 0; i < b->nr_modules; i++)
		fprintf(out, "  module        %s  (\"%s\")\n",
			b->modules[i].path, b->modules[i].cmdline);
	if (b->initrd)
		fprintf(out, "  initrd        %s\n", b->initrd);
	if (b->dtb)
		fprintf(out, "  dtb           %s\n", b->dtb);
	if (b->format == BOOT_FORMAT_RAW) {
		fprintf(out, "  load-address  0x%llx\n",
			(unsigned long long)b->load_address);
		fprintf(out, "  entry         0x%llx%s\n",
			(unsigned long long)b->entry,
			b->has_entry ? "" : "  (default: load-address)");
		if (b->mode != CPU_MODE_DEFAULT)
			fprintf(out, "  mode          %s\n",
				cpu_mode_name(b->mode));
	}

	fprintf(out, "\ndevices\n");
	if (!cfg->nr_devices)
		fprintf(out, "  (none)\n");
	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		fprintf(out, "  %s: %s\n", d->name, d->type->name);
		for (unsigned j = 0; j < d->nr_values; j++) {
			const struct cfg_value *v = &d->values[j];
			const char *other = d->type->params[j].unused_with;

			if (!v->set && other && cfg_dev_isset(d, other)) {
				fprintf(out,
					"    %-14s (not used: %s is set)\n",
					v->key, other);
				continue;
			}
			fprintf(out, "    %-14s %s", v->key,
				v->str ? v->str : "(unset)");
			if (!v->set && v->str)
				fprintf(out, "  (default)");
			print_loc(out, &v->loc);
			fputc('\n', out);
		}
	}

	fprintf(out, "\nresources\n");
	res = calloc((size_t)(cfg->nr_devices ? cfg->nr_devices : 1) *
			     DEV_MAX_RESOURCES,
		     sizeof(*res));
	for (unsigned i = 0; res && i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		struct dev_resource r[DEV_MAX_RESOURCES];
		unsigned n = 0;

		if (d->type->resources)
			n = d->type->resources(d, r, DEV_MAX_RESOURCES);
		for (unsigned k = 0; k < MIN(n, DEV_MAX_RESOURCES); k++) {
			res[nres].r = r[k];
			res[nres++].dev = d->name;
		}
	}
	if (res)
		qsort(res, nres, sizeof(*res), cmp_res);
	if (!nres)
		fprintf(out, "  (none)\n");
	for (unsigned i = 0; i < nres; i++) {
		const struct dev_resource *r = &res[i].r;

		if (r->kind == DEV_RES_IRQ)
			fprintf(out, "  irq   %-23llu",
				(unsigned long long)r->base);
		else
			fprintf(out, "  %-5s 0x%08llx-0x%08llx  ",
				r->kind == DEV_RES_PIO ? "pio" : "mmio",
				(unsigned long long)r->base,
				(unsigned long long)(r->base + r->size - 1));
		fprintf(out, " %s", res[i].dev);
		if (r->key)
			fprintf(out, " (%s)", r->key);
		fputc('\n', out);
	}
	free(res);
}
