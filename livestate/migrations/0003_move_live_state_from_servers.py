"""Move each server's live state into its LiveStatus row.

State, error and auth back-off come from the Server columns about to be
dropped; the last answer (counts, map, run) from the server's latest snapshot.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    Server = apps.get_model("servers", "Server")
    Snapshot = apps.get_model("livestate", "LiveStateSnapshot")
    LiveStatus = apps.get_model("livestate", "LiveStatus")
    rows = []
    for server in Server.objects.order_by("pk").iterator(chunk_size=500):
        latest = Snapshot.objects.filter(server_id=server.pk).order_by("-id").first()
        rows.append(
            LiveStatus(
                server_id=server.pk,
                state=server.actual_state,
                polled_at=server.actual_state_updated_at,
                error=server.last_error,
                auth_failed_at=server.rcon_auth_failed_at,
                auth_failed_fingerprint=server.rcon_auth_failed_fingerprint,
                answered_at=latest.last_seen_at if latest else None,
                players=latest.players if latest else 0,
                max_players=latest.max_players if latest else 0,
                bots=latest.bots if latest else 0,
                map=latest.map if latest else "",
                hibernating=latest.hibernating if latest else False,
                snapshot_id=latest.pk if latest else None,
            )
        )
    LiveStatus.objects.bulk_create(rows, batch_size=500)


def backwards(apps, schema_editor):
    Server = apps.get_model("servers", "Server")
    LiveStatus = apps.get_model("livestate", "LiveStatus")
    for status in LiveStatus.objects.iterator(chunk_size=500):
        Server.objects.filter(pk=status.server_id).update(
            actual_state=status.state,
            actual_state_updated_at=status.polled_at,
            last_error=status.error,
            rcon_auth_failed_at=status.auth_failed_at,
            rcon_auth_failed_fingerprint=status.auth_failed_fingerprint,
        )


class Migration(migrations.Migration):

    dependencies = [
        ("livestate", "0002_live_status"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
