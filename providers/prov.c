/*
 * prov.c - the providers this daemon has: one row each, in the order
 * .providers.json lists them. fs/main.c registers the list with the core.
 */
#include "providers/prov.h"

#include <string.h>

static const struct prov_ops *const providers[] = {&prov_xvfb, &prov_display, &prov_qemu,
						    &prov_remote, NULL};

const struct prov_ops *const *prov_list(void)
{
	return providers;
}
