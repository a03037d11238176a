from django.db import migrations, models


class Migration(migrations.Migration):
    """Apart from 0007's backfill: PostgreSQL refuses ALTER TABLE after updates in one transaction."""

    dependencies = [
        ("servers", "0007_resolved_address"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='server',
            constraint=models.UniqueConstraint(condition=models.Q(('resolved_address', ''), _negated=True), fields=('resolved_address', 'port'), name='server_unique_resolved_address'),
        ),
    ]
