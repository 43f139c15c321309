"""The audit trail is append-only and hash-chained; verify_audit finds every edit, insertion and deletion."""

import contextlib

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from livinglab import audit, services
from livinglab.models import AuditEntry


@contextlib.contextmanager
def tampering():
    """Act as an attacker with direct database access: on PostgreSQL, switch off the append-only trigger."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        yield


@pytest.fixture
def chain(participant, give):
    """Three audit entries written by real services."""
    give(participant.person, "participation")
    record = give(participant.person, "recording")
    services.withdraw_consent(record, channel="online", acting_user=participant)
    entries = list(AuditEntry.objects.order_by("seq"))
    assert len(entries) >= 3
    return entries


def verify_problems():
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit")
    return str(failed.value)


def test_verify_audit_reports_an_intact_chain(chain, capsys):
    call_command("verify_audit")
    assert f"{len(chain)} entries verified" in capsys.readouterr().out


def test_verify_audit_detects_an_edited_entry(chain, capsys):
    victim = chain[1]
    with tampering():
        AuditEntry.objects.filter(pk=victim.pk).update(data={"purpose": "something else"})
    assert "1 problem" in verify_problems()
    assert f"Entry {victim.seq}: content was changed" in capsys.readouterr().err


def test_verify_audit_detects_a_deleted_entry(chain, capsys):
    victim = chain[1]
    with tampering():
        AuditEntry.objects.filter(pk=victim.pk)._raw_delete(connection.alias)
    verify_problems()
    assert f"entries {victim.seq}–{victim.seq} are missing" in capsys.readouterr().err


def test_verify_audit_detects_removal_of_the_newest_entries(chain, capsys):
    with tampering():
        AuditEntry.objects.filter(pk=chain[-1].pk)._raw_delete(connection.alias)
    verify_problems()
    assert "the newest entries were removed" in capsys.readouterr().err


def test_verify_audit_detects_an_inserted_entry(chain, capsys):
    forged = AuditEntry(
        seq=chain[-1].seq + 1,
        created_at=chain[-1].created_at,
        action="livinglab.forged",
        actor_ref="system",
        prev_hash="f" * 64,
    )
    forged.hash = forged.compute_hash()
    with tampering():
        forged.save()
    verify_problems()
    assert f"Entry {forged.seq}: does not link" in capsys.readouterr().err


def test_the_model_refuses_edits_and_deletes(chain):
    entry = chain[0]
    entry.action = "changed"
    with pytest.raises(Exception, match="cannot be changed"):
        entry.save()
    with pytest.raises(Exception, match="cannot be deleted"):
        entry.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_itself_refuses_to_change_an_entry(chain):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=chain[0].pk).update(action="changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=chain[0].pk)._raw_delete(connection.alias)


def test_audit_record_refuses_to_run_outside_a_transaction(transactional_db, participant):
    with pytest.raises(RuntimeError):
        audit.record("livinglab.test", actor=participant)
