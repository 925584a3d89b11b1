/*
 * Where pg_scribe is installed, and the checks that guard CREATE EXTENSION
 * (scribe_require_preload() is declared in base/pg_scribe.h).
 */
#ifndef SCRIBE_INSTALL_H
#define SCRIBE_INSTALL_H

/* scribe.database: the one database of the extension and its launcher */
extern char *scribe_database;

extern void scribe_install_define_gucs(void);
extern bool scribe_database_is_served(void);
extern void scribe_require_served_database(const char *queue);

#endif							/* SCRIBE_INSTALL_H */
