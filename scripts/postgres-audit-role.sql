-- flowrisk's audit database on PostgreSQL: the service runs as a role that can insert and read
-- the audit trail but can neither alter, disable its trigger, update, delete nor truncate it,
-- and can only raise (never lower, delete or truncate) the id high-water mark; it keeps the
-- cases up to date and appends to their events, which it can neither update nor delete.
--
-- Before: a superuser (or a role with CREATEROLE) created two roles and the database,
--     CREATE ROLE flowrisk_owner LOGIN PASSWORD '...';      -- owns the tables; not used by the service
--     CREATE ROLE flowrisk_service LOGIN PASSWORD '...';    -- FLOWRISK_DATABASE_URL of the service
--     CREATE DATABASE flowrisk OWNER flowrisk_owner;
-- and the owner created the tables, their append-only triggers and the cases' tables
-- (their migrations):
--     FLOWRISK_DATABASE_URL=postgresql+psycopg://flowrisk_owner:...@host/flowrisk flowrisk audit init
--
-- Then, connected to that database as a superuser or as the owner:
--     psql "postgresql://flowrisk_owner@host/flowrisk" -v owner=flowrisk_owner \
--          -v service=flowrisk_service -f scripts/postgres-audit-role.sql
--
-- It may be run again at any time: it puts the privileges back to exactly these.
-- The tables are expected in the schema "public" (the default search path).

\set ON_ERROR_STOP on

-- the service role must exist and must not be able to do more than it is granted
SET flowrisk.owner = :'owner';
SET flowrisk.service = :'service';
DO $$
DECLARE
  owner text := current_setting('flowrisk.owner');
  service text := current_setting('flowrisk.service');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = owner) THEN
    RAISE EXCEPTION 'no role named %', owner;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = service) THEN
    RAISE EXCEPTION 'no role named %', service;
  END IF;
  IF (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = service)
     OR pg_has_role(service, owner, 'MEMBER') THEN
    RAISE EXCEPTION 'role % is a superuser or a member of % (it could alter the audit table)',
      service, owner;
  END IF;
  IF to_regclass('public.audit') IS NULL THEN
    RAISE EXCEPTION 'no audit table: run `flowrisk audit init` as % first', owner;
  END IF;
  IF to_regclass('public.audit_high_water') IS NULL THEN
    RAISE EXCEPTION 'no audit_high_water table: the audit database was created by an earlier '
      'flowrisk (see docs/audit.md, "Databases of earlier versions")';
  END IF;
  IF to_regclass('public.cases') IS NULL OR to_regclass('public.case_events') IS NULL THEN
    RAISE EXCEPTION 'no cases tables: run `flowrisk audit init` as % first (it applies the '
      'cases'' migrations)', owner;
  END IF;
  IF to_regclass('public.console_sessions') IS NULL THEN
    RAISE EXCEPTION 'no console_sessions table: run `flowrisk audit init` of this version as % '
      'first', owner;
  END IF;
END $$;

BEGIN;

-- the owner keeps the tables and the guard function
ALTER TABLE public.audit OWNER TO :"owner";
ALTER TABLE public.audit_high_water OWNER TO :"owner";
ALTER TABLE public.api_keys OWNER TO :"owner";
ALTER TABLE public.audit_probe OWNER TO :"owner";
ALTER TABLE public.console_sessions OWNER TO :"owner";
ALTER FUNCTION public.flowrisk_audit_append_only() OWNER TO :"owner";
ALTER TABLE public.cases OWNER TO :"owner";
ALTER TABLE public.case_events OWNER TO :"owner";
ALTER TABLE public.flowrisk_cases_version OWNER TO :"owner";
ALTER FUNCTION public.flowrisk_case_events_append_only() OWNER TO :"owner";

-- nothing by default, for anyone but the owner
REVOKE ALL ON public.audit, public.audit_high_water, public.api_keys, public.audit_probe,
  public.console_sessions FROM PUBLIC, :"service";
REVOKE ALL ON public.cases, public.case_events, public.flowrisk_cases_version
  FROM PUBLIC, :"service";
REVOKE ALL ON SEQUENCE public.case_events_id_seq FROM PUBLIC, :"service";
REVOKE CREATE ON SCHEMA public FROM PUBLIC, :"service";

-- the service: read and append the trail, raise the id high-water mark in the same
-- transaction (its triggers refuse lowering it), keys, heartbeat
GRANT USAGE ON SCHEMA public TO :"service";
GRANT SELECT, INSERT ON public.audit TO :"service";
GRANT SELECT, UPDATE ON public.audit_high_water TO :"service";
GRANT SELECT, INSERT, UPDATE ON public.api_keys TO :"service";
GRANT SELECT, UPDATE ON public.audit_probe TO :"service";
-- the cases: opened and kept up to date; their events only appended (their trigger refuses
-- updates and deletes); the migrations' version only read (the owner migrates)
GRANT SELECT, INSERT, UPDATE ON public.cases TO :"service";
GRANT SELECT, INSERT ON public.case_events TO :"service";
GRANT USAGE ON SEQUENCE public.case_events_id_seq TO :"service";
GRANT SELECT ON public.flowrisk_cases_version TO :"service";
-- console sessions: opened, given a case reference, ended; never deleted by the service
GRANT SELECT, INSERT, UPDATE ON public.console_sessions TO :"service";

COMMIT;
