/*
 * Who runs what: the three ways pg_scribe's code changes rights, one helper
 * each (docs/architecture.md, "The privilege model", says why and where).
 *
 *   up     an entry point runs its own fixed statements as the bootstrap
 *          superuser: scribe_spi_begin_as_owner() ... scribe_spi_end()
 *          (SPI connected and the role changed together; underneath,
 *          scribe_run_as_owner() ... scribe_run_as_caller()), the
 *          statements through scribe_plan_execute() (search_path pinned
 *          to pg_catalog, no temporary schema)
 *   down   code of a role runs on that role's behalf (an sql job as its
 *          sender, a policy's actions as its owner): scribe_role_begin()
 *          ... scribe_role_end(); the role, scribe.job_search_path, and
 *          every setting the role's code changes undone at the end
 *   clean  a pool worker forgets what a job left in its session before it
 *          runs the next one: scribe_session_reset()
 *
 * Nothing the caller controls is resolved while up: a caller-supplied name
 * is looked up as the caller, before going up, and passed on as an OID.
 */
#ifndef SCRIBE_PRIVILEGE_H
#define SCRIBE_PRIVILEGE_H

#include "postgres.h"

/* The caller's role and security context, kept while running as another */
typedef struct ScribeSavedUser
{
	Oid			userid;
	int			sec_context;
} ScribeSavedUser;

/* What scribe_role_begin() changed, for scribe_role_end() */
typedef struct ScribeRoleScope
{
	ScribeSavedUser saved;
	int			guc_nest_level;
} ScribeRoleScope;

/*
 * What scribe_spi_begin_as_owner() changed, for scribe_spi_as_caller()
 * and scribe_spi_end()
 */
typedef struct ScribeSpiScope
{
	ScribeSavedUser saved;
	bool		elevated;		/* still the bootstrap superuser */
} ScribeSpiScope;

/* scribe.job_search_path: the search_path of code run on a role's behalf */
extern char *scribe_job_search_path;

extern void scribe_privilege_define_gucs(void);

extern Oid	scribe_run_as_owner(ScribeSavedUser *saved);
extern void scribe_run_as_caller(const ScribeSavedUser *saved);

extern Oid	scribe_spi_begin_as_owner(ScribeSpiScope *scope);
extern void scribe_spi_as_caller(ScribeSpiScope *scope);
extern void scribe_spi_end(ScribeSpiScope *scope);

extern void scribe_role_begin(Oid role, bool restricted, ScribeRoleScope *scope);
extern void scribe_role_end(ScribeRoleScope *scope);
extern void scribe_role_fire_deferred(void);

extern void scribe_session_reset(void);

/* The role above the applications: every queue, every owner's documents */
#define SCRIBE_ADMIN_ROLE "scribe_admin"

extern bool scribe_role_is_admin(Oid role);

#endif							/* SCRIBE_PRIVILEGE_H */
