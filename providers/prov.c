/*
 * prov.c - the registry of providers: one row each, in the order
 * .providers.json lists them.
 */
#include "providers/prov.h"

#include <string.h>

static const struct prov_ops *const providers[] = {&prov_xvfb, &prov_display, &prov_qemu,
						    &prov_remote, NULL};

const struct prov_ops *prov_find(const char *name)
{
	for (int i = 0; providers[i]; i++)
		if (strcmp(providers[i]->name, name) == 0)
			return providers[i];
	return NULL;
}

const struct prov_ops *const *prov_list(void)
{
	return providers;
}
