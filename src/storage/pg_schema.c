/*
 * The PostgreSQL schema. The four shared tables are created with exactly the DDL of Django's
 * migrations (as pg_dump prints it: tables, sequences, defaults, constraints, indexes, deferrable
 * foreign keys), each only if it is missing, so a Django-made database is adopted unchanged; our own
 * tables are prefixed rm_. Names are unqualified: everything lands in the first schema of the
 * connection's search_path (set it with ?options=-csearch_path%3D... in the URL).
 *
 * Times in the rm_ tables are timestamptz like Django's, converted to and from microseconds in SQL.
 */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock key of schema changes ("rmschema"). */
#define SCHEMA_LOCK_KEY "8245373363575680353"

typedef struct {
    const char *table;
    const char *ddl;
} django_table;

/* In dependency order: the foreign keys of a later table reference earlier ones. */
static const django_table django_tables[] = {
    {"auth_user",
     "CREATE TABLE auth_user ("
     " id integer NOT NULL,"
     " password character varying(128) NOT NULL,"
     " last_login timestamp with time zone,"
     " is_superuser boolean NOT NULL,"
     " username character varying(150) NOT NULL,"
     " first_name character varying(150) NOT NULL,"
     " last_name character varying(150) NOT NULL,"
     " email character varying(254) NOT NULL,"
     " is_staff boolean NOT NULL,"
     " is_active boolean NOT NULL,"
     " date_joined timestamp with time zone NOT NULL);"
     "CREATE SEQUENCE auth_user_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;"
     "ALTER SEQUENCE auth_user_id_seq OWNED BY auth_user.id;"
     "ALTER TABLE ONLY auth_user ALTER COLUMN id SET DEFAULT nextval('auth_user_id_seq'::regclass);"
     "ALTER TABLE ONLY auth_user ADD CONSTRAINT auth_user_pkey PRIMARY KEY (id);"
     "ALTER TABLE ONLY auth_user ADD CONSTRAINT auth_user_username_key UNIQUE (username);"
     "CREATE INDEX auth_user_username_6821ab7c_like ON auth_user USING btree (username varchar_pattern_ops);"},
    {"ai_aimodel",
     "CREATE TABLE ai_aimodel ("
     " id bigint NOT NULL,"
     " display_name character varying(100) NOT NULL,"
     " model_name character varying(100) NOT NULL,"
     " api_provider character varying(50) NOT NULL,"
     " api_key_name character varying(100) NOT NULL,"
     " is_active boolean NOT NULL,"
     " login_required boolean NOT NULL,"
     " daily_limit integer NOT NULL,"
     " response_time_info character varying(100) NOT NULL,"
     " description text NOT NULL,"
     " created_at timestamp with time zone NOT NULL,"
     " updated_at timestamp with time zone NOT NULL,"
     " CONSTRAINT ai_aimodel_daily_limit_check CHECK ((daily_limit >= 0)));"
     "CREATE SEQUENCE ai_aimodel_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;"
     "ALTER SEQUENCE ai_aimodel_id_seq OWNED BY ai_aimodel.id;"
     "ALTER TABLE ONLY ai_aimodel ALTER COLUMN id SET DEFAULT nextval('ai_aimodel_id_seq'::regclass);"
     "ALTER TABLE ONLY ai_aimodel ADD CONSTRAINT ai_aimodel_display_name_key UNIQUE (display_name);"
     "ALTER TABLE ONLY ai_aimodel ADD CONSTRAINT ai_aimodel_pkey PRIMARY KEY (id);"
     "CREATE INDEX ai_aimodel_display_name_31630d6a_like ON ai_aimodel USING btree (display_name varchar_pattern_ops);"},
    {"resume_resume",
     "CREATE TABLE resume_resume ("
     " id bigint NOT NULL,"
     " title character varying(255) NOT NULL,"
     " content text NOT NULL,"
     " created_at timestamp with time zone NOT NULL,"
     " updated_at timestamp with time zone NOT NULL,"
     " user_id integer NOT NULL);"
     "CREATE SEQUENCE resume_resume_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;"
     "ALTER SEQUENCE resume_resume_id_seq OWNED BY resume_resume.id;"
     "ALTER TABLE ONLY resume_resume ALTER COLUMN id SET DEFAULT nextval('resume_resume_id_seq'::regclass);"
     "ALTER TABLE ONLY resume_resume ADD CONSTRAINT resume_resume_pkey PRIMARY KEY (id);"
     "CREATE INDEX resume_resume_user_id_0b155703 ON resume_resume USING btree (user_id);"
     "ALTER TABLE ONLY resume_resume ADD CONSTRAINT resume_resume_user_id_0b155703_fk_auth_user_id "
     "FOREIGN KEY (user_id) REFERENCES auth_user(id) DEFERRABLE INITIALLY DEFERRED;"},
    {"job_tracker_jobapplication",
     "CREATE TABLE job_tracker_jobapplication ("
     " id bigint NOT NULL,"
     " job_title character varying(255),"
     " company_name character varying(255),"
     " original_job_description text,"
     " date_applied date,"
     " status character varying(20) NOT NULL,"
     " notes text,"
     " is_deleted boolean NOT NULL,"
     " is_example boolean NOT NULL,"
     " created_at timestamp with time zone NOT NULL,"
     " updated_at timestamp with time zone NOT NULL,"
     " resume_used_id bigint,"
     " user_id integer NOT NULL);"
     "CREATE SEQUENCE job_tracker_jobapplication_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;"
     "ALTER SEQUENCE job_tracker_jobapplication_id_seq OWNED BY job_tracker_jobapplication.id;"
     "ALTER TABLE ONLY job_tracker_jobapplication ALTER COLUMN id SET DEFAULT "
     "nextval('job_tracker_jobapplication_id_seq'::regclass);"
     "ALTER TABLE ONLY job_tracker_jobapplication ADD CONSTRAINT job_tracker_jobapplication_pkey PRIMARY KEY (id);"
     "CREATE INDEX job_tracker_jobapplication_resume_used_id_68776f96 ON job_tracker_jobapplication "
     "USING btree (resume_used_id);"
     "CREATE INDEX job_tracker_jobapplication_user_id_a3f6cbf6 ON job_tracker_jobapplication USING btree (user_id);"
     "ALTER TABLE ONLY job_tracker_jobapplication ADD CONSTRAINT job_tracker_jobappli_resume_used_id_68776f96_fk_resume_re "
     "FOREIGN KEY (resume_used_id) REFERENCES resume_resume(id) DEFERRABLE INITIALLY DEFERRED;"
     "ALTER TABLE ONLY job_tracker_jobapplication ADD CONSTRAINT job_tracker_jobapplication_user_id_a3f6cbf6_fk_auth_user_id "
     "FOREIGN KEY (user_id) REFERENCES auth_user(id) DEFERRABLE INITIALLY DEFERRED;"},
};

#define N_DJANGO (sizeof(django_tables) / sizeof(*django_tables))

/* Version 1 of our own tables. The extension rows follow their user or model when Django deletes it. */
static const char *const rm_tables_v1 =
    "CREATE TABLE IF NOT EXISTS rm_schema_version ("
    " version integer NOT NULL PRIMARY KEY,"
    " applied_at timestamp with time zone NOT NULL);"
    "CREATE TABLE IF NOT EXISTS rm_user_ext ("
    " user_id integer NOT NULL PRIMARY KEY REFERENCES auth_user (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,"
    " tokens_valid_after timestamp with time zone NULL);"
    "CREATE TABLE IF NOT EXISTS rm_ai_model_ext ("
    " model_id bigint NOT NULL PRIMARY KEY REFERENCES ai_aimodel (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,"
    " base_url text NULL);"
    "CREATE TABLE IF NOT EXISTS rm_token_denylist ("
    " jti character varying(255) NOT NULL PRIMARY KEY,"
    " user_id bigint NOT NULL,"
    " expires_at timestamp with time zone NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rm_token_denylist_expires_at ON rm_token_denylist (expires_at);"
    "CREATE TABLE IF NOT EXISTS rm_daily_usage ("
    " user_id bigint NOT NULL,"
    " model_id bigint NOT NULL,"
    " day date NOT NULL,"
    " count integer NOT NULL CHECK (count >= 0),"
    " PRIMARY KEY (user_id, model_id, day));"
    "CREATE TABLE IF NOT EXISTS rm_idempotency ("
    " user_id bigint NOT NULL,"
    " key character varying(255) NOT NULL,"
    " resume_id bigint NOT NULL,"
    " created_at timestamp with time zone NOT NULL,"
    " PRIMARY KEY (user_id, key));"
    "CREATE INDEX IF NOT EXISTS rm_idempotency_created_at ON rm_idempotency (created_at);";

static const char *const rm_migrations[RM__PG_SCHEMA_VERSION] = {rm_tables_v1};

/* Run a parameterless query through the simple protocol and keep its rows. */
static int query(rm__pg_pool *p, rm__pg_conn *c, const char *sql, const char *what, PGresult **out)
{
    PGresult *r = PQexec(c->pg, sql);
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = rm__pg_fail(p, c, r, what);
        PQclear(r);
        return rc;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return rm__error_set(RM_ESTORAGE, "postgres: %s returned no row", what);
    }
    *out = r;
    return RM_OK;
}

/* Which of Django's tables exist (bit i = django_tables[i]), and our schema version (0: none). */
static int inspect(rm__pg_pool *p, rm__pg_conn *c, unsigned *present, int64_t *version)
{
    char sql[512];
    int n = snprintf(sql, sizeof(sql), "SELECT to_regclass('rm_schema_version') IS NOT NULL");
    for (size_t i = 0; i < N_DJANGO; i++)
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", to_regclass('%s') IS NOT NULL", django_tables[i].table);
    PGresult *r = NULL;
    int rc = query(p, c, sql, "schema inspection", &r);
    if (rc != RM_OK)
        return rc;
    bool has_version = PQgetvalue(r, 0, 0)[0] == 't';
    *present = 0;
    for (size_t i = 0; i < N_DJANGO; i++)
        if (PQgetvalue(r, 0, (int)i + 1)[0] == 't')
            *present |= 1u << i;
    PQclear(r);
    *version = 0;
    if (!has_version)
        return RM_OK;
    if ((rc = query(p, c, "SELECT coalesce(max(version), 0) FROM rm_schema_version", "schema version", &r)) != RM_OK)
        return rc;
    *version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return RM_OK;
}

static int migrate(rm__pg_pool *p, rm__pg_conn *c, unsigned present, int64_t version)
{
    int rc = RM_OK;
    for (size_t i = 0; i < N_DJANGO && rc == RM_OK; i++)
        if (!(present & (1u << i)))
            rc = rm__pg_command(p, c, django_tables[i].ddl, "creating table");
    for (int64_t v = version + 1; v <= RM__PG_SCHEMA_VERSION && rc == RM_OK; v++) {
        char sql[160];
        snprintf(sql, sizeof(sql), "INSERT INTO rm_schema_version (version, applied_at) VALUES (%lld, now())",
                 (long long)v);
        if ((rc = rm__pg_command(p, c, rm_migrations[v - 1], "creating the rm_ tables")) == RM_OK)
            rc = rm__pg_command(p, c, sql, "recording the schema version");
    }
    return rc;
}

int rm__pg_schema_ensure(rm__pg_pool *p, rm__pg_conn *c)
{
    unsigned present = 0;
    int64_t version = 0;
    int rc = rm__pg_command(p, c, "BEGIN", "BEGIN");
    if (rc != RM_OK)
        return rc;
    /* Two processes opening an empty database at once: the second waits here, then finds it done. */
    rc = rm__pg_command(p, c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", "taking the schema lock");
    if (rc == RM_OK)
        rc = inspect(p, c, &present, &version);
    if (rc == RM_OK && version > RM__PG_SCHEMA_VERSION)
        rc = rm__error_set(RM_ESTORAGE, "postgres: database schema version %lld is newer than this library's (%d)",
                           (long long)version, RM__PG_SCHEMA_VERSION);
    if (rc == RM_OK && (version < RM__PG_SCHEMA_VERSION || present != (1u << N_DJANGO) - 1))
        rc = migrate(p, c, present, version);
    if (rc == RM_OK)
        return rm__pg_command(p, c, "COMMIT", "committing the schema");
    if (PQstatus(c->pg) == CONNECTION_OK) {
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
    }
    return rc;
}
