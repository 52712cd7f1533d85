/* config_table.h — the option table of config.c, for the code that walks
 * it besides loading: config_print.c (kipd -n -v), config_man.c
 * (kipd.conf(5)) and tests/unit/test_config.c. Everything else reads
 * struct kip_config (config.h).
 */
#ifndef KIP_CONFIG_TABLE_H
#define KIP_CONFIG_TABLE_H

#include <stddef.h>

enum opt_type {
	OPT_STRING, /* char *; optionally limited to choices, or checked */
	OPT_INT,    /* int in min..max */
	OPT_BOOL,   /* bool */
	OPT_ENUM,   /* int: the value of one of choices, given by name */
	OPT_SECRET, /* char *: the value names a file; the field gets its secret
		     */
	OPT_USERS,  /* the users list; see load_users() */
	OPT_REPORTERS,	 /* mqtt.reporters; see load_reporters() */
	OPT_DIRECTORIES, /* directory.servers; see load_directories() */
};

struct choice {
	const char *name;
	int value;
};

struct config_option {
	const char *name; /* "group.key", or "key" at the top level */
	enum opt_type type;
	size_t offset; /* of the field in struct kip_config */
	size_t
	    file_offset; /* OPT_SECRET: of the field keeping the file's path */
	const char *def; /* OPT_STRING, OPT_ENUM: default; NULL: unset */
	int def_int;	 /* OPT_INT, OPT_BOOL: default */
	int min, max;	 /* OPT_INT: bounds */
	const struct choice *choices; /* OPT_ENUM; OPT_STRING: allowed values */
	/* OPT_STRING, OPT_SECRET: NULL if value is fine, else what is wrong */
	const char *(*check)(const char *value);
};

/* Every key kipd knows. Their order is free: printing and the man page
 * gather each group's keys. */
extern const struct config_option config_options[];
extern const size_t config_n_options;

/* Whether the option is a list of groups (users, mqtt.reporters,
 * directory.servers). */
#define OPT_IS_LIST(o)                                                         \
	((o)->type == OPT_USERS || (o)->type == OPT_REPORTERS ||               \
	 (o)->type == OPT_DIRECTORIES)

/* The key's group ("smtp" for "smtp.url") as its length in name; 0 for a
 * key at the top level. */
size_t config_group_len(const char *name);

#endif
