/* schema.h — the SQLite schema as a list of migrations. */
#ifndef KIP_SCHEMA_H
#define KIP_SCHEMA_H

/* The newest schema version. */
int schema_latest(void);
/* The SQL that takes version-1 to version, or NULL if out of range. */
const char *schema_migration(int version);

#endif
