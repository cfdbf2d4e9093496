/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev_cfg.h"
#include "vmm/util.h"

static void dev_cfg_die(const char *what, const char *key, const char *val)
{
	fprintf(stderr, "dev_cfg: %s: %s=%s\n", what, key, val ? val : "");
	abort();
}

static void dev_cfg_parse(struct cfg_value *v, const struct dev_param *p,
			  const char *text)
{
	bool b;

	free(v->str);
	v->str = strdup(text);
	if (!v->str)
		abort();
	v->num = 0;
	switch (p->kind) {
	case PARAM_U64:
		if (parse_u64(text, &v->num))
			dev_cfg_die("bad number", p->key, text);
		break;
	case PARAM_SIZE:
		if (parse_size(text, &v->num))
			dev_cfg_die("bad size", p->key, text);
		break;
	case PARAM_BOOL:
		if (parse_bool(text, &b))
			dev_cfg_die("bad bool", p->key, text);
		v->num = b;
		break;
	case PARAM_ENUM:
		for (unsigned i = 0; p->choices && p->choices[i]; i++) {
			if (!strcmp(p->choices[i], text)) {
				v->num = i;
				return;
			}
		}
		dev_cfg_die("bad choice", p->key, text);
		break;
	case PARAM_STR:
	case PARAM_PATH:
		break;
	}
}

struct cfg_device *dev_cfg_new(const struct device_type *type, const char *name,
			       ...)
{
	struct cfg_device *cfg = calloc(1, sizeof(*cfg));
	unsigned n = 0, line = 2;
	const char *kv;
	va_list ap;

	if (!cfg)
		abort();
	while (type->params[n].key)
		n++;
	cfg->name = strdup(name);
	cfg->type = type;
	cfg->values = calloc(n ? n : 1, sizeof(*cfg->values));
	cfg->nr_values = n;
	cfg->loc = (struct cfg_loc){ .file = "test.cfg", .line = 1 };
	if (!cfg->name || !cfg->values)
		abort();
	for (unsigned i = 0; i < n; i++) {
		const struct dev_param *p = &type->params[i];
		struct cfg_value *v = &cfg->values[i];

		v->key = p->key;
		v->loc = (struct cfg_loc){ .file = "test.cfg", .line = 0 };
		if (p->def)
			dev_cfg_parse(v, p, p->def);
	}

	va_start(ap, name);
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');
		size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
		unsigned i;

		if (!eq)
			dev_cfg_die("not key=value", kv, NULL);
		for (i = 0; i < n; i++) {
			if (strlen(type->params[i].key) == klen &&
			    !strncmp(type->params[i].key, kv, klen))
				break;
		}
		if (i == n)
			dev_cfg_die("unknown key", kv, NULL);
		dev_cfg_parse(&cfg->values[i], &type->params[i], eq + 1);
		cfg->values[i].set = true;
		cfg->values[i].loc =
			(struct cfg_loc){ .file = "test.cfg", .line = line++ };
	}
	va_end(ap);
	return cfg;
}

void dev_cfg_free(struct cfg_device *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; i < cfg->nr_values; i++)
		free(cfg->values[i].str);
	free(cfg->values);
	free(cfg->name);
	free(cfg);
}

struct device *dev_create(struct vm *vm, const struct cfg_device *cfg, int *err)
{
	struct device *dev = calloc(1, sizeof(*dev));
	int ret;

	if (!dev)
		abort();
	dev->type = cfg->type;
	dev->cfg = cfg;
	dev->name = cfg->name;
	dev->vm = vm;
	ret = cfg->type->create(vm, dev);
	if (err)
		*err = ret;
	if (ret) {
		free(dev);
		return NULL;
	}
	return dev;
}

void dev_destroy(struct device *dev)
{
	if (!dev)
		return;
	if (dev->type->destroy)
		dev->type->destroy(dev);
	free(dev);
}
