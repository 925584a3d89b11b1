/*
 * Read replicas: a node that subscribes to a primary's publication with
 * scribe.replication_subscribe() is in the replica role until scribe.replication_unsubscribe().
 *
 * In that role the pool runs no workers and no lifecycle policy runs: the
 * primary's jobs and policies change the rows, replication brings the
 * changes.  The launcher watches the subscription and logs when it stops
 * (disable_on_error) or resumes.
 */
#ifndef SCRIBE_REPLICA_H
#define SCRIBE_REPLICA_H

#include "datatype/timestamp.h"

/* replica_watch.c: whether this node is a replica, as the launcher last saw */
extern bool scribe_replica_active;

extern TimestampTz scribe_replica_watch_task(TimestampTz now);

#endif							/* SCRIBE_REPLICA_H */
