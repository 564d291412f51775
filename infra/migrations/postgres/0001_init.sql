-- DAuth authorization server: PostgreSQL schema, version 1.
--
-- The exact schema the AS creates on start (apps/as/src/storage/postgres.ts, under a
-- transaction-scoped advisory lock so that several instances may start at once).
-- Every statement is IF NOT EXISTS: applying this file before or after the AS's first start
-- is harmless, so operators who must run DDL out of band (a migration role, a review step)
-- can apply it with `psql -v ON_ERROR_STOP=1 -1 -f 0001_init.sql` and let the AS run with a
-- role that only reads and writes. infra/test/migrations.test.ts checks that this file and
-- the AS produce the same tables, columns, constraints and indexes.

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
