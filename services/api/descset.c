/*
 * descset.c - index over the embedded FileDescriptorSet.
 */
#include <stdlib.h>
#include <string.h>

#include "descset.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "mem.h"

struct symbol {
	char *name;
	int file;
};

struct method {
	char *path;
	bool cs, ss;
};

static Google__Protobuf__FileDescriptorSet *set;
static unsigned char **packed;
static size_t *packed_len;
static struct symbol *syms;
static int nsyms, capsyms;
static struct method *methods;
static int nmethods, capmethods;
static char **services;
static int nservices;

static void
add_symbol(char *name, int file)
{
	if (nsyms == capsyms) {
		capsyms = capsyms ? capsyms * 2 : 256;
		syms = xrealloc(syms, sizeof(*syms) * (size_t)capsyms);
	}
	syms[nsyms].name = name;
	syms[nsyms].file = file;
	nsyms++;
}

static char *
join(const char *prefix, const char *name)
{
	return (*prefix ? xasprintf("%s.%s", prefix, name) : xstrdup(name));
}

static void
add_enum(const Google__Protobuf__EnumDescriptorProto *e, const char *prefix,
    int file)
{
	char *full = join(prefix, e->name);

	add_symbol(full, file);
	/* Enum values are scoped like siblings of the enum (C++ rules). */
	for (size_t i = 0; i < e->n_value; i++)
		add_symbol(join(prefix, e->value[i]->name), file);
}

static void
add_message(const Google__Protobuf__DescriptorProto *m, const char *prefix,
    int file)
{
	char *full = join(prefix, m->name);

	add_symbol(full, file);
	for (size_t i = 0; i < m->n_field; i++)
		add_symbol(join(full, m->field[i]->name), file);
	for (size_t i = 0; i < m->n_nested_type; i++)
		add_message(m->nested_type[i], full, file);
	for (size_t i = 0; i < m->n_enum_type; i++)
		add_enum(m->enum_type[i], full, file);
}

static int
sym_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct symbol *)a)->name,
	    ((const struct symbol *)b)->name));
}

rk_err
descset_load(const void *data, size_t len)
{
	set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
	if (set == NULL)
		return (RK_EPROTO);
	packed = xcalloc(set->n_file, sizeof(*packed));
	packed_len = xcalloc(set->n_file, sizeof(*packed_len));
	for (size_t f = 0; f < set->n_file; f++) {
		Google__Protobuf__FileDescriptorProto *fd = set->file[f];
		const char *pkg = fd->package ? fd->package : "";

		packed_len[f] =
		    google__protobuf__file_descriptor_proto__get_packed_size(fd);
		packed[f] = xmalloc(packed_len[f]);
		google__protobuf__file_descriptor_proto__pack(fd, packed[f]);
		for (size_t i = 0; i < fd->n_message_type; i++)
			add_message(fd->message_type[i], pkg, (int)f);
		for (size_t i = 0; i < fd->n_enum_type; i++)
			add_enum(fd->enum_type[i], pkg, (int)f);
		for (size_t i = 0; i < fd->n_service; i++) {
			Google__Protobuf__ServiceDescriptorProto *sd =
			    fd->service[i];
			char *svc = join(pkg, sd->name);

			add_symbol(svc, (int)f);
			services = xrealloc(services,
			    sizeof(char *) * (size_t)(nservices + 1));
			services[nservices++] = svc;
			for (size_t k = 0; k < sd->n_method; k++) {
				Google__Protobuf__MethodDescriptorProto *md =
				    sd->method[k];

				add_symbol(join(svc, md->name), (int)f);
				if (nmethods == capmethods) {
					capmethods = capmethods ? capmethods * 2 :
					    64;
					methods = xrealloc(methods,
					    sizeof(*methods) *
					    (size_t)capmethods);
				}
				methods[nmethods].path = xasprintf("/%s/%s", svc,
				    md->name);
				methods[nmethods].cs = md->client_streaming;
				methods[nmethods].ss = md->server_streaming;
				nmethods++;
			}
		}
	}
	qsort(syms, (size_t)nsyms, sizeof(*syms), sym_cmp);
	return (RK_OK);
}

void
descset_unload(void)
{
	if (set == NULL)
		return;
	for (int i = 0; i < nsyms; i++)
		if (syms[i].name != NULL)
			free(syms[i].name);
	for (int i = 0; i < nmethods; i++)
		free(methods[i].path);
	for (size_t f = 0; f < set->n_file; f++)
		free(packed[f]);
	free(packed);
	free(packed_len);
	free(syms);
	free(methods);
	free(services);	/* names are owned by syms */
	google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
	set = NULL;
	syms = NULL;
	methods = NULL;
	services = NULL;
	nsyms = capsyms = nmethods = capmethods = nservices = 0;
}

rk_err
descset_method(const char *path, bool *cs, bool *ss)
{
	for (int i = 0; i < nmethods; i++)
		if (strcmp(methods[i].path, path) == 0) {
			*cs = methods[i].cs;
			*ss = methods[i].ss;
			return (RK_OK);
		}
	return (RK_ENOTFOUND);
}

int
descset_nservices(void)
{
	return (nservices);
}

const char *
descset_service(int i)
{
	return (services[i]);
}

static int
file_index(const char *name)
{
	for (size_t f = 0; set != NULL && f < set->n_file; f++)
		if (strcmp(set->file[f]->name, name) == 0)
			return ((int)f);
	return (-1);
}

/* Adds file f and, depth first, its dependencies, each once. */
static void
collect(int f, bool *seen, int *order, int *n)
{
	if (seen[f])
		return;
	seen[f] = true;
	order[(*n)++] = f;
	for (size_t i = 0; i < set->file[f]->n_dependency; i++) {
		int d = file_index(set->file[f]->dependency[i]);

		if (d >= 0)
			collect(d, seen, order, n);
	}
}

static rk_err
files_from(int f, const void ***files, size_t **lens, int *n)
{
	bool *seen = xcalloc(set->n_file, sizeof(bool));
	int *order = xcalloc(set->n_file, sizeof(int));

	*n = 0;
	collect(f, seen, order, n);
	*files = xcalloc((size_t)*n, sizeof(void *));
	*lens = xcalloc((size_t)*n, sizeof(size_t));
	for (int i = 0; i < *n; i++) {
		(*files)[i] = packed[order[i]];
		(*lens)[i] = packed_len[order[i]];
	}
	free(seen);
	free(order);
	return (RK_OK);
}

rk_err
descset_files_for_symbol(const char *symbol, const void ***files,
    size_t **lens, int *n)
{
	struct symbol key = {(char *)symbol, 0}, *hit;

	if (symbol[0] == '.')
		key.name = (char *)symbol + 1;
	hit = bsearch(&key, syms, (size_t)nsyms, sizeof(*syms), sym_cmp);
	if (hit == NULL)
		return (RK_ENOTFOUND);
	return (files_from(hit->file, files, lens, n));
}

rk_err
descset_files_for_name(const char *filename, const void ***files,
    size_t **lens, int *n)
{
	int f = file_index(filename);

	if (f < 0)
		return (RK_ENOTFOUND);
	return (files_from(f, files, lens, n));
}
