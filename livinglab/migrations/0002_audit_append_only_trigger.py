from django.db import migrations

# On PostgreSQL the database itself refuses to change or delete audit entries. The one update allowed is
# clearing actor_id when an account is erased: the hash covers the pseudonymous actor_ref, not actor_id.
CREATE = """
CREATE OR REPLACE FUNCTION livinglab_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit entries are append-only';
    END IF;
    IF (to_jsonb(NEW) - 'actor_id') IS DISTINCT FROM (to_jsonb(OLD) - 'actor_id') THEN
        RAISE EXCEPTION 'audit entries are append-only';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER livinglab_audit_append_only BEFORE UPDATE OR DELETE ON livinglab_auditentry
    FOR EACH ROW EXECUTE FUNCTION livinglab_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS livinglab_audit_append_only ON livinglab_auditentry;
DROP FUNCTION IF EXISTS livinglab_audit_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("livinglab", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
