/*
 * Shared memory of pg_scribe: one request at server start, sized by the sum
 * of what each capability needs, and one initialisation callback each.
 */
#ifndef SCRIBE_SHMEM_H
#define SCRIBE_SHMEM_H

extern void scribe_shmem_install_hooks(void);

#endif							/* SCRIBE_SHMEM_H */
