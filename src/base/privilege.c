/*
 * Who runs what: going up to the bootstrap superuser for our own fixed
 * statements, down to a role for its own code, and cleaning a worker's
 * session between jobs (privilege.h lists the three).
 */
#include "base/pg_scribe.h"

#include "catalog/namespace.h"
#include "catalog/pg_authid_d.h"
#include "commands/async.h"
#include "commands/prepare.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/portal.h"
#include "utils/varlena.h"

#include "base/privilege.h"

char	   *scribe_job_search_path = NULL;

/* Check scribe.job_search_path as PostgreSQL checks search_path: a list of names */
static bool
check_job_search_path(char **newval, void **extra, GucSource source)
{
	char	   *copy = pstrdup(*newval);
	List	   *names;
	bool		ok = SplitIdentifierString(copy, ',', &names);

	list_free(names);
	pfree(copy);
	if (!ok)
		GUC_check_errdetail("List syntax is invalid.");
	return ok;
}

/*
 * Define scribe.job_search_path (a list, but without GUC_LIST_QUOTE: the
 * server refuses that flag from an extension and stops at start)
 */
void
scribe_privilege_define_gucs(void)
{
	DefineCustomStringVariable("scribe.job_search_path",
							   "search_path of the SQL that pg_scribe runs on a role's behalf: sql jobs, lifecycle policies.",
							   "\"$user\" is the role the code runs as (the job's sender, the policy's owner).",
							   &scribe_job_search_path,
							   "\"$user\", public",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   check_job_search_path, NULL, NULL);
}

/*
 * Switch to the bootstrap superuser, to run our own fixed statements (each
 * through scribe_plan_execute()); returns the caller's role.  An ERROR in
 * between restores the caller with the (sub)transaction's abort.
 */
Oid
scribe_run_as_owner(ScribeSavedUser *saved)
{
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   saved->sec_context | SECURITY_LOCAL_USERID_CHANGE);
	return saved->userid;
}

/* Switch back to the caller that scribe_run_as_owner() saved */
void
scribe_run_as_caller(const ScribeSavedUser *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

/*
 * Connect to SPI and go up to the bootstrap superuser: the start of an
 * entry point that runs our own fixed statements (each through
 * scribe_plan_execute()); returns the caller's role.  What is allocated
 * before this call outlives scribe_spi_end(); what SPI returns does not.
 * An ERROR in between disconnects SPI and restores the caller with the
 * (sub)transaction's abort.
 */
Oid
scribe_spi_begin_as_owner(ScribeSpiScope *scope)
{
	SPI_connect();
	scope->elevated = true;
	return scribe_run_as_owner(&scope->saved);
}

/*
 * Come back down to the caller while SPI stays connected: to check the
 * caller's rights on what the statements returned, or to hand it rows
 */
void
scribe_spi_as_caller(ScribeSpiScope *scope)
{
	if (!scope->elevated)
		return;
	scribe_run_as_caller(&scope->saved);
	scope->elevated = false;
}

/* End what scribe_spi_begin_as_owner() began: back to the caller, SPI disconnected */
void
scribe_spi_end(ScribeSpiScope *scope)
{
	scribe_spi_as_caller(scope);
	SPI_finish();
}

/*
 * Start running code as role on its behalf: that role (it cannot SET ROLE
 * away), search_path = scribe.job_search_path with "$user" = role, and a
 * GUC nest level so that scribe_role_end() undoes every setting the code
 * changes, set_config(..., false) included.  Restricted, it runs as a
 * security-restricted operation, the sandbox PostgreSQL gives REFRESH
 * MATERIALIZED VIEW: no temporary objects, deferred triggers, LISTEN or
 * cursors WITH HOLD that could outlive it in someone else's session.  An
 * ERROR in between is undone by the (sub)transaction's abort.
 */
void
scribe_role_begin(Oid role, bool restricted, ScribeRoleScope *scope)
{
	scope->guc_nest_level = NewGUCNestLevel();
	GetUserIdAndSecContext(&scope->saved.userid, &scope->saved.sec_context);
	SetUserIdAndSecContext(role, scope->saved.sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   (restricted ? SECURITY_RESTRICTED_OPERATION : 0));
	(void) set_config_option("search_path",
							 scribe_job_search_path ? scribe_job_search_path : "\"$user\", public",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/* Switch back from the role, undoing every setting its code changed */
void
scribe_role_end(ScribeRoleScope *scope)
{
	SetUserIdAndSecContext(scope->saved.userid, scope->saved.sec_context);
	AtEOXact_GUC(false, scope->guc_nest_level);
}

/*
 * Fire the deferred triggers the role's code queued, while still running as
 * the role: at our transaction's commit they would run as whoever commits.
 * Only between statements (not inside one), as at a commit.
 */
void
scribe_role_fire_deferred(void)
{
	AfterTriggerFireDeferred();
}

/*
 * Forget what a job left in this session, as DISCARD ALL would, inside the
 * worker's transaction: cursors, prepared statements, LISTEN, advisory
 * locks, temporary objects, sequence state.  Settings and the role are
 * undone by scribe_role_end() and the job's subtransaction already.
 */
void
scribe_session_reset(void)
{
	PortalHashTableDeleteAll();
	DropAllPreparedStatements();
	Async_UnlistenAll();
	LockReleaseAll(USER_LOCKMETHOD, true);
	ResetTempTableNamespace();
	ResetSequenceCaches();
}

/*
 * Whether role has the privileges of a superuser or of scribe_admin (which
 * CREATE EXTENSION makes; until it exists, superusers only)
 */
bool
scribe_role_is_admin(Oid role)
{
	Oid			admin;

	if (superuser_arg(role))
		return true;
	admin = get_role_oid(SCRIBE_ADMIN_ROLE, true);
	return OidIsValid(admin) && has_privs_of_role(role, admin);
}
