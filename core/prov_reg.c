/*
 * prov_reg.c - the providers the core knows: handed over once at start by
 * the top of the program (fs/main.c), looked up by name from then on.
 */
#include "core/prov_ops.h"

#include <string.h>

static const struct prov_ops *const none[] = {NULL};
static const struct prov_ops *const *registered = none; /* set before any thread */

void prov_register(const struct prov_ops *const *list)
{
	registered = list ? list : none;
}

const struct prov_ops *prov_lookup(const char *name)
{
	for (const struct prov_ops *const *p = registered; *p; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}

const struct prov_ops *const *prov_registered(void)
{
	return registered;
}
