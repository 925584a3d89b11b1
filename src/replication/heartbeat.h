/*
 * Heartbeat: each node's launcher keeps its row of scribe.heartbeat fresh.
 *
 * The table is published with the rest of what replicas read, so a replica
 * learns from the primary's row how fresh its copy is, even when the primary
 * is idle and no other row changes.
 */
#ifndef SCRIBE_HEARTBEAT_H
#define SCRIBE_HEARTBEAT_H

#include "datatype/timestamp.h"

/* GUCs */
extern int	scribe_heartbeat_interval;
extern char *scribe_node_name;

extern void scribe_heartbeat_define_gucs(void);
extern const char *scribe_heartbeat_node_name(void);
extern TimestampTz scribe_heartbeat_task(TimestampTz now);

#endif							/* SCRIBE_HEARTBEAT_H */
