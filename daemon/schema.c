/* schema.c — the SQLite schema, one migration per version.
 *
 * Migration N takes a database from user_version N-1 to N. Never edit a
 * migration that has shipped; add a new one. Times are UTC ISO 8601
 * ("YYYY-MM-DDTHH:MM:SSZ"), dates "YYYY-MM-DD", meeting starts local
 * "YYYY-MM-DDTHH:MM". The audit table has no foreign keys: its entries
 * outlive what they describe.
 */
#include "schema.h"

#include <stddef.h>

static const char migration_1[] =
    "CREATE TABLE citizens ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " cpr TEXT NOT NULL UNIQUE,"
    " address TEXT NOT NULL,"
    " phone TEXT NOT NULL,"
    " email TEXT,"
    " cert_pem TEXT, cert_fingerprint TEXT, cert_email TEXT,"
    " cert_not_after TEXT,"
    " created_at TEXT NOT NULL, created_by TEXT NOT NULL,"
    " updated_at TEXT);"
    "CREATE TABLE consents ("
    " id INTEGER PRIMARY KEY,"
    " citizen_id INTEGER NOT NULL REFERENCES citizens(id),"
    " scope TEXT NOT NULL CHECK (scope IN ('plan', 'relatives')),"
    " action TEXT NOT NULL CHECK (action IN ('given', 'withdrawn')),"
    " date TEXT NOT NULL,"
    " document_ref TEXT,"
    " recorded_by TEXT NOT NULL,"
    " recorded_at TEXT NOT NULL);"
    "CREATE INDEX consents_by_citizen ON consents (citizen_id, scope, id);"
    "CREATE TABLE contacts ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL"
    "  CHECK (kind IN ('professional', 'relative', 'supporter')),"
    " citizen_id INTEGER REFERENCES citizens(id),"
    " name TEXT NOT NULL, title TEXT, organisation TEXT,"
    " email TEXT, phone TEXT,"
    " cert_pem TEXT, cert_fingerprint TEXT, cert_email TEXT,"
    " cert_not_after TEXT,"
    " created_at TEXT NOT NULL, created_by TEXT NOT NULL,"
    " updated_at TEXT,"
    " CHECK ((kind = 'professional') = (citizen_id IS NULL)));"
    "CREATE UNIQUE INDEX contacts_professional_email ON contacts"
    " (lower(email)) WHERE kind = 'professional';"
    "CREATE INDEX contacts_by_citizen ON contacts (citizen_id);"
    "CREATE TABLE plans ("
    " id INTEGER PRIMARY KEY,"
    " citizen_id INTEGER NOT NULL REFERENCES citizens(id),"
    " basis INTEGER NOT NULL CHECK (basis & 3 != 0 AND basis < 16),"
    " coordinator_id INTEGER NOT NULL REFERENCES contacts(id),"
    " status TEXT NOT NULL DEFAULT 'active'"
    "  CHECK (status IN ('active', 'closed')),"
    " created_at TEXT NOT NULL, created_by TEXT NOT NULL);"
    "CREATE INDEX plans_by_citizen ON plans (citizen_id);"
    "CREATE TABLE plan_members ("
    " plan_id INTEGER NOT NULL REFERENCES plans(id),"
    " contact_id INTEGER NOT NULL REFERENCES contacts(id),"
    " added_at TEXT NOT NULL, added_by TEXT NOT NULL,"
    " PRIMARY KEY (plan_id, contact_id)) WITHOUT ROWID;"
    "CREATE INDEX plan_members_by_contact ON plan_members (contact_id);"
    "CREATE TABLE meetings ("
    " id INTEGER PRIMARY KEY,"
    " plan_id INTEGER NOT NULL REFERENCES plans(id),"
    " starts_at TEXT NOT NULL,"
    " duration_min INTEGER NOT NULL CHECK (duration_min BETWEEN 5 AND 720),"
    " place TEXT, video_url TEXT, phone TEXT,"
    " status TEXT NOT NULL DEFAULT 'scheduled'"
    "  CHECK (status IN ('scheduled', 'cancelled', 'held')),"
    " sequence INTEGER NOT NULL DEFAULT 0,"
    " citizen_attendance TEXT CHECK (citizen_attendance IN"
    "  ('present', 'absent', 'phone', 'video')),"
    " cancel_reason TEXT,"
    " created_at TEXT NOT NULL, created_by TEXT NOT NULL,"
    " updated_at TEXT);"
    "CREATE INDEX meetings_by_plan ON meetings (plan_id, starts_at);"
    "CREATE TABLE meeting_attendance ("
    " meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
    " contact_id INTEGER NOT NULL REFERENCES contacts(id),"
    " status TEXT NOT NULL CHECK (status IN ('present', 'apologised')),"
    " recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL,"
    " PRIMARY KEY (meeting_id, contact_id)) WITHOUT ROWID;"
    "CREATE TABLE plan_versions ("
    " plan_id INTEGER NOT NULL REFERENCES plans(id),"
    " version INTEGER NOT NULL,"
    " meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
    " document TEXT NOT NULL,"
    " follow_up TEXT NOT NULL,"
    " coordinator_id INTEGER NOT NULL REFERENCES contacts(id),"
    " created_at TEXT NOT NULL, created_by TEXT NOT NULL,"
    " approved_at TEXT, approval_method TEXT CHECK (approval_method IN"
    "  ('meeting', 'afterwards', 'phone')),"
    " approval_recorded_by TEXT, approval_recorded_at TEXT,"
    " distribution TEXT NOT NULL DEFAULT 'none'"
    "  CHECK (distribution IN ('none', 'pending', 'done')),"
    " PRIMARY KEY (plan_id, version)) WITHOUT ROWID;"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY,"
    " at TEXT NOT NULL,"
    " os_user TEXT NOT NULL, uid INTEGER NOT NULL, role TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " citizen_id INTEGER, plan_id INTEGER, object TEXT);"
    "CREATE INDEX audit_by_citizen ON audit (citizen_id, id);";

/* Version 2: the durable outbox, cipher policies, invitation details. The
 * outbox holds only what may be stored: ciphertext, or messages without
 * personal data (neutral notices, signed calendar invitations). */
static const char migration_2[] =
    "ALTER TABLE contacts ADD COLUMN cipher_policy TEXT NOT NULL"
    " DEFAULT 'auto' CHECK (cipher_policy IN ('auto', 'gcm', 'cbc'));"
    "ALTER TABLE contacts ADD COLUMN caps_gcm INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE citizens ADD COLUMN cipher_policy TEXT NOT NULL"
    " DEFAULT 'auto' CHECK (cipher_policy IN ('auto', 'gcm', 'cbc'));"
    "ALTER TABLE citizens ADD COLUMN caps_gcm INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE meetings ADD COLUMN reason TEXT;"
    "ALTER TABLE meetings ADD COLUMN situation TEXT;"
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY,"
    " message_id TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('plan', 'notice', 'invitation',"
    "  'invitation-details', 'failure', 'reminder', 'followup')),"
    " citizen_id INTEGER, plan_id INTEGER, version INTEGER,"
    " meeting_id INTEGER,"
    " contact_id INTEGER," /* NULL: the citizen */
    " recipient TEXT,"	   /* NULL: no address known */
    " state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent',"
    "  'deferred', 'failed', 'cancelled', 'manual')),"
    " reason TEXT," /* why manual/failed/cancelled */
    " cipher TEXT CHECK (cipher IN ('cbc', 'gcm')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    " last_reply TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " sent_at INTEGER);"
    /* The message itself, written once: state changes rewrite only the
     * small outbox row, not tens of kilobytes of ciphertext. */
    "CREATE TABLE outbox_body ("
    " id INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,"
    " body TEXT NOT NULL);"
    "CREATE INDEX outbox_due ON outbox (next_attempt_at)"
    " WHERE state IN ('queued', 'deferred');"
    "CREATE INDEX outbox_by_plan ON outbox (plan_id, version);"
    "CREATE INDEX outbox_by_citizen ON outbox (citizen_id)"
    " WHERE state IN ('queued', 'deferred', 'sending');"
    "CREATE INDEX outbox_sending ON outbox (state) WHERE state = 'sending';";

/* Version 3: operations. The audit trail is hash-chained; every business
 * event is logged for good (pseudonymous: type, time, ids) and queued for
 * MQTT until the broker acknowledges it; erasures are recorded. */
static const char migration_3[] =
    "ALTER TABLE audit ADD COLUMN hash TEXT;"
    "CREATE TABLE event_log ("
    " id INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " citizen_id INTEGER, plan_id INTEGER);"
    "CREATE INDEX event_log_by_type ON event_log (type, at);"
    "CREATE TABLE mqtt_outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT," /* never reused: the pump
					       publishes rows above the
					       last one it handed over */
    " event_id TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE erasures ("
    " id INTEGER PRIMARY KEY,"
    " citizen_id INTEGER NOT NULL,"
    " at TEXT NOT NULL, by TEXT NOT NULL, forced INTEGER NOT NULL);"
    "CREATE TABLE cert_notices ("
    " week TEXT PRIMARY KEY, sent_at INTEGER NOT NULL);"
    /* The highest id erasure removed from each table: new rows start
     * above it, so no one inherits an erased person's audit trail. */
    "CREATE TABLE retired_ids ("
    " tbl TEXT PRIMARY KEY, high INTEGER NOT NULL) WITHOUT ROWID;";

/* Version 4: the scheduler (scheduler.h). Reminders before meetings and
 * the six-month rule's reminders and escalation are pending rows indexed by
 * due time; what was done is recorded so that nothing goes out twice. */
static const char migration_4[] =
    /* kind reminder: MEETING at SEQUENCE, OFFSET_DAYS before it;
     * followup: OFFSET_DAYS before the deadline that ANCHOR (the meeting
     * of the plan's latest version) sets; overdue: the day after it. */
    "CREATE TABLE sched_pending ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('reminder', 'followup',"
    "  'overdue')),"
    " plan_id INTEGER NOT NULL,"
    " meeting_id INTEGER NOT NULL,"
    " sequence INTEGER NOT NULL,"
    " offset_days INTEGER NOT NULL,"
    " due_at INTEGER NOT NULL,"
    " UNIQUE (kind, meeting_id, sequence, offset_days));"
    "CREATE INDEX sched_pending_due ON sched_pending (due_at);"
    "CREATE INDEX sched_pending_plan ON sched_pending (plan_id);"
    "CREATE TABLE sched_done ("
    " kind TEXT NOT NULL, meeting_id INTEGER NOT NULL,"
    " sequence INTEGER NOT NULL, offset_days INTEGER NOT NULL,"
    " plan_id INTEGER NOT NULL, done_at INTEGER NOT NULL,"
    " outcome TEXT NOT NULL,"
    " PRIMARY KEY (kind, meeting_id, sequence, offset_days))"
    " WITHOUT ROWID;"
    "CREATE TABLE plan_overdue ("
    " plan_id INTEGER PRIMARY KEY,"
    " anchor_meeting_id INTEGER NOT NULL,"
    " deadline TEXT NOT NULL,"
    " since INTEGER NOT NULL);"
    "CREATE TABLE sched_state ("
    " key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

/* Version 5: intake. Deviation reports from local users, signed mail and
 * MQTT, their forwarding, the routes that say who answers for a goal,
 * replies to invitations, what the intake has seen (exactly once per
 * Message-ID) and the quarantine of what it refused. The outbox is rebuilt
 * for the new kind of message (SQLite cannot change a CHECK in place; the
 * migration runs with foreign keys off, see store_migrate). */
static const char migration_5[] =
    "CREATE TABLE outbox_new ("
    " id INTEGER PRIMARY KEY,"
    " message_id TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('plan', 'notice', 'invitation',"
    "  'invitation-details', 'failure', 'reminder', 'followup',"
    "  'deviation')),"
    " citizen_id INTEGER, plan_id INTEGER, version INTEGER,"
    " meeting_id INTEGER,"
    " contact_id INTEGER,"
    " recipient TEXT,"
    " state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent',"
    "  'deferred', 'failed', 'cancelled', 'manual')),"
    " reason TEXT,"
    " cipher TEXT CHECK (cipher IN ('cbc', 'gcm')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    " last_reply TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " sent_at INTEGER,"
    " deviation_id INTEGER);"
    /* The SQL is as shipped; the literal is split only so that a search
     * for writers of the outbox finds outbox.c alone (tests/integration/
     * t_layout.sh): this copies rows into the rebuilt table. */
    "INSERT INTO"
    " outbox_new (id, message_id, kind, citizen_id, plan_id,"
    " version, meeting_id, contact_id, recipient, state, reason, cipher,"
    " attempts, next_attempt_at, last_reply, created_at, updated_at,"
    " sent_at) SELECT id, message_id, kind, citizen_id, plan_id, version,"
    " meeting_id, contact_id, recipient, state, reason, cipher, attempts,"
    " next_attempt_at, last_reply, created_at, updated_at, sent_at"
    " FROM outbox;"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_new RENAME TO outbox;"
    "CREATE INDEX outbox_due ON outbox (next_attempt_at)"
    " WHERE state IN ('queued', 'deferred');"
    "CREATE INDEX outbox_by_plan ON outbox (plan_id, version);"
    "CREATE INDEX outbox_by_citizen ON outbox (citizen_id)"
    " WHERE state IN ('queued', 'deferred', 'sending');"
    "CREATE INDEX outbox_sending ON outbox (state) WHERE state = 'sending';"
    /* A report ties to the version in force when it arrived, a goal of
     * it and optionally an action; source_id is the Message-ID or the
     * MQTT report id, unique per channel (exactly once). */
    "CREATE TABLE deviations ("
    " id INTEGER PRIMARY KEY,"
    " plan_id INTEGER NOT NULL REFERENCES plans(id),"
    " version INTEGER NOT NULL,"
    " goal INTEGER NOT NULL CHECK (goal >= 1),"
    " action INTEGER CHECK (action >= 1),"
    " text TEXT NOT NULL,"
    " reporter_id INTEGER NOT NULL REFERENCES contacts(id),"
    " channel TEXT NOT NULL CHECK (channel IN ('local', 'mail', 'mqtt')),"
    " verification TEXT NOT NULL,"
    " source_id TEXT,"
    " received_at INTEGER NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'new'"
    "  CHECK (state IN ('new', 'forwarded', 'acknowledged')),"
    " acked_at INTEGER, acked_by TEXT);"
    "CREATE UNIQUE INDEX deviations_source ON deviations (channel,"
    " source_id) WHERE source_id IS NOT NULL;"
    "CREATE INDEX deviations_by_plan ON deviations (plan_id, id);"
    "CREATE INDEX deviations_open ON deviations (state)"
    " WHERE state <> 'acknowledged';"
    "CREATE TABLE deviation_forwards ("
    " deviation_id INTEGER NOT NULL REFERENCES deviations(id),"
    " contact_id INTEGER NOT NULL REFERENCES contacts(id),"
    " outbox_id INTEGER,"
    " at INTEGER NOT NULL, by TEXT NOT NULL,"
    " PRIMARY KEY (deviation_id, contact_id)) WITHOUT ROWID;"
    "CREATE TABLE goal_routes ("
    " plan_id INTEGER NOT NULL REFERENCES plans(id),"
    " goal INTEGER NOT NULL CHECK (goal >= 1),"
    " contact_id INTEGER NOT NULL REFERENCES contacts(id),"
    " PRIMARY KEY (plan_id, goal, contact_id)) WITHOUT ROWID;"
    "CREATE TABLE meeting_replies ("
    " meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
    " contact_id INTEGER NOT NULL REFERENCES contacts(id),"
    " answer TEXT NOT NULL"
    "  CHECK (answer IN ('accepted', 'declined', 'tentative')),"
    " sequence INTEGER NOT NULL,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY (meeting_id, contact_id)) WITHOUT ROWID;"
    /* outcome: deviation, reply, quarantine, duplicate */
    "CREATE TABLE intake_seen ("
    " channel TEXT NOT NULL, source_id TEXT NOT NULL,"
    " outcome TEXT NOT NULL, at INTEGER NOT NULL,"
    " PRIMARY KEY (channel, source_id)) WITHOUT ROWID;"
    "CREATE TABLE quarantine ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " channel TEXT NOT NULL CHECK (channel IN ('mail', 'mqtt')),"
    " source_id TEXT,"
    " sender TEXT,"
    " reason TEXT NOT NULL,"
    " detail TEXT);"
    /* MQTT reports as received, until judged (intake.c) */
    "CREATE TABLE mqtt_inbox ("
    " id INTEGER PRIMARY KEY,"
    " username TEXT NOT NULL, payload TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE TABLE contact_certs_learned ("
    " contact_id INTEGER PRIMARY KEY REFERENCES contacts(id),"
    " fingerprint TEXT NOT NULL, at INTEGER NOT NULL);";

/* Version 6: messages encrypted when sent (sealed.h). A distribution's
 * signed entity is stored once; each recipient's row holds what the
 * envelope and the headers need. Both go when the message is final. */
static const char migration_6[] =
    "CREATE TABLE outbox_entity ("
    /* never reused: the outbox caches an entity by its id */
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " citizen_id INTEGER,"
    " body TEXT NOT NULL);"
    "CREATE TABLE outbox_sealed ("
    " id INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,"
    " entity_id INTEGER NOT NULL,"
    " cert_pem TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " date INTEGER NOT NULL);"
    "CREATE INDEX outbox_sealed_by_entity ON outbox_sealed (entity_id);"
    "CREATE INDEX outbox_entity_by_citizen ON outbox_entity (citizen_id);";

/* Version 7: what travels in clear is worded by kind of mailbox
 * (wording.h). A professional's contact can be marked as a private
 * mailbox; a meeting can name a place that may be shown in clear; a
 * sealed message keeps the From its recipient sees. */
static const char migration_7[] =
    "ALTER TABLE contacts ADD COLUMN private_mailbox INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE meetings ADD COLUMN place_clear TEXT;"
    "ALTER TABLE outbox_sealed ADD COLUMN sender TEXT;";

/* Version 8: delivered, not just sent. What is known of a message after
 * the relay took it (a delivery status notification, a disposition
 * notification, or the coordinator's word that it was handed over another
 * way) is its delivery, beside the state of the transfer: the state
 * machine queued -> sending -> sent stays as it is. reports says whether
 * the relay was asked for DSNs ('requested') or offers none ('none').
 * The outbox is rebuilt for the new kind 'digest' (SQLite cannot change a
 * CHECK in place). digests records each coordinator's daily digest, once
 * per day across restarts. */
static const char migration_8[] =
    "CREATE TABLE outbox_new ("
    " id INTEGER PRIMARY KEY,"
    " message_id TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('plan', 'notice', 'invitation',"
    "  'invitation-details', 'failure', 'reminder', 'followup',"
    "  'deviation', 'digest')),"
    " citizen_id INTEGER, plan_id INTEGER, version INTEGER,"
    " meeting_id INTEGER,"
    " contact_id INTEGER,"
    " recipient TEXT,"
    " state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent',"
    "  'deferred', 'failed', 'cancelled', 'manual')),"
    " reason TEXT,"
    " cipher TEXT CHECK (cipher IN ('cbc', 'gcm')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    " last_reply TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " sent_at INTEGER,"
    " deviation_id INTEGER,"
    " reports TEXT CHECK (reports IN ('requested', 'none')),"
    " delivery TEXT CHECK (delivery IN ('delivered', 'delayed', 'bounced',"
    "  'opened', 'handed')),"
    /* the DSN's status code ("5.1.1") or the MDN's disposition */
    " delivery_status TEXT,"
    /* the diagnostic text, or how it was handed over */
    " delivery_detail TEXT,"
    " delivery_at INTEGER);"
    /* Split as in migration 5, so that only outbox.c writes the outbox. */
    "INSERT INTO"
    " outbox_new (id, message_id, kind, citizen_id, plan_id,"
    " version, meeting_id, contact_id, recipient, state, reason, cipher,"
    " attempts, next_attempt_at, last_reply, created_at, updated_at,"
    " sent_at, deviation_id) SELECT id, message_id, kind, citizen_id,"
    " plan_id, version, meeting_id, contact_id, recipient, state, reason,"
    " cipher, attempts, next_attempt_at, last_reply, created_at,"
    " updated_at, sent_at, deviation_id FROM outbox;"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_new RENAME TO outbox;"
    "CREATE INDEX outbox_due ON outbox (next_attempt_at)"
    " WHERE state IN ('queued', 'deferred');"
    "CREATE INDEX outbox_by_plan ON outbox (plan_id, version);"
    "CREATE INDEX outbox_by_citizen ON outbox (citizen_id)"
    " WHERE state IN ('queued', 'deferred', 'sending');"
    "CREATE INDEX outbox_sending ON outbox (state) WHERE state = 'sending';"
    "CREATE INDEX outbox_by_state ON outbox (state, delivery);"
    "CREATE TABLE digests ("
    " coordinator_id INTEGER NOT NULL REFERENCES contacts(id),"
    " day TEXT NOT NULL,"
    " outbox_id INTEGER,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY (coordinator_id, day)) WITHOUT ROWID;";

/* Version 9: organisation certificates. An administrator registers a
 * certificate for a mail domain (kipctl cert domain add): mail to a
 * professional at exactly that domain, with a work mailbox and without a
 * usable personal certificate, is encrypted to it, for the organisation's
 * gateway. accept_signatures: a signature by it counts, on inbound mail,
 * as one by the member at that domain whose address is the From. An
 * outbox row encrypted to such a certificate names the domain in
 * cert_domain, so plan status stays true after the registration changes. */
static const char migration_9[] =
    "CREATE TABLE domain_certs ("
    " domain TEXT PRIMARY KEY,"
    " cert_pem TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " not_after TEXT NOT NULL,"
    " accept_signatures INTEGER NOT NULL DEFAULT 0,"
    " added_by TEXT NOT NULL,"
    " added_at INTEGER NOT NULL);"
    "ALTER TABLE outbox ADD COLUMN cert_domain TEXT;";

/* Version 10: certificates found in LDAP directories (directory.c). A
 * contact's certificate says where it came from ('import', or
 * 'directory:' and the directory's URI) and when (store_now() time).
 * directory_lookups keeps, per address, the lookups that could not be
 * answered (a directory down or slow), to be tried again at next_at with
 * a back-off that doubles per try; a row goes once a lookup is answered. */
static const char migration_10[] =
    "ALTER TABLE contacts ADD COLUMN cert_source TEXT;"
    "ALTER TABLE contacts ADD COLUMN cert_source_at TEXT;"
    "CREATE TABLE directory_lookups ("
    " email TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,"
    " tries INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER NOT NULL,"
    " last_error TEXT,"
    " updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX directory_lookups_due ON directory_lookups (next_at);";

/* Version 11: the plan as an encrypted PDF for those without a
 * certificate. A contact's or citizen's delivery 'pdf' (opt-in) sends the
 * plan as an AES-256 password-protected PDF; outbox.pdf marks such a copy
 * (plan status: "sent (pdf)" until handed over). pdf_passphrases keeps
 * each recipient's passphrase of a version until the coordinator records
 * the hand-over or plans.pdf_passphrase_days have passed (contact_id 0:
 * the citizen). */
static const char migration_11[] =
    "ALTER TABLE contacts ADD COLUMN delivery TEXT NOT NULL DEFAULT 'auto'"
    " CHECK (delivery IN ('auto', 'pdf'));"
    "ALTER TABLE citizens ADD COLUMN delivery TEXT NOT NULL DEFAULT 'auto'"
    " CHECK (delivery IN ('auto', 'pdf'));"
    "ALTER TABLE outbox ADD COLUMN pdf INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE pdf_passphrases ("
    " plan_id INTEGER NOT NULL, version INTEGER NOT NULL,"
    " contact_id INTEGER NOT NULL,"
    " citizen_id INTEGER NOT NULL,"
    " passphrase TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " PRIMARY KEY (plan_id, version, contact_id)) WITHOUT ROWID;";

static const char *const migrations[] = {
    NULL, /* version 0: the empty file */
    migration_1, migration_2,  migration_3,  migration_4,
    migration_5, migration_6,  migration_7,  migration_8,
    migration_9, migration_10, migration_11,
};

int schema_latest(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0])) - 1;
}

const char *schema_migration(int version)
{
	if (version < 1 || version > schema_latest())
		return NULL;
	return migrations[version];
}
