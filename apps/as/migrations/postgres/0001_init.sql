-- DAuth authorization server: PostgreSQL schema, migration 0001_init.
--
-- The AS applies the files of this folder it has not recorded yet, in name order, on start
-- (one transaction, under an advisory lock, so several instances may start at once); when
-- every file is recorded it runs no DDL at all, so a role that only reads and writes can run
-- it. Operators who apply DDL out of band run each file with
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -1 -f apps/as/migrations/postgres/0001_init.sql
-- Each file records itself in dauth_schema_migrations (last statement), so that the AS sees
-- it as applied. Statements are IF NOT EXISTS: databases created before the migrations table
-- existed (the AS created the same tables itself) adopt this file as a no-op.

CREATE TABLE IF NOT EXISTS dauth_schema_migrations (
  version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS dauth_oidc_models (
  model TEXT NOT NULL, id TEXT NOT NULL, payload JSONB NOT NULL,
  grant_id TEXT, user_code TEXT, uid TEXT, expires_at BIGINT,
  PRIMARY KEY (model, id));
CREATE INDEX IF NOT EXISTS dauth_oidc_models_grant ON dauth_oidc_models (grant_id);
CREATE INDEX IF NOT EXISTS dauth_oidc_models_uid ON dauth_oidc_models (model, uid);
CREATE INDEX IF NOT EXISTS dauth_oidc_models_user_code ON dauth_oidc_models (model, user_code);
CREATE TABLE IF NOT EXISTS dauth_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dauth_replay (key TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS dauth_connections (
  id TEXT PRIMARY KEY, owner_iss TEXT NOT NULL, owner_sub TEXT NOT NULL,
  name TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL,
  upload_nonce TEXT NOT NULL, upload_expires_at BIGINT NOT NULL,
  handle TEXT UNIQUE, envelope TEXT, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS dauth_connections_owner ON dauth_connections (owner_iss, owner_sub);
CREATE TABLE IF NOT EXISTS dauth_accounts (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL);

INSERT INTO dauth_schema_migrations (version, applied_at)
  VALUES ('0001_init', EXTRACT(EPOCH FROM now())::BIGINT)
  ON CONFLICT (version) DO NOTHING;
