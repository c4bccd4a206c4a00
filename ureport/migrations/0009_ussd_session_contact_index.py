"""ussd_session is found by contact alone: updated_at, written on every hop, made every hop rewrite its
entry in the (contact_id, updated_at) index, and a contact has a few sessions at most."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_restore_flow_run_index')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='UssdSession',
            name=None,
            fields=['contact_id', 'updated_at'],
        ),
        ops.AddIndex(
            model_name='UssdSession',
            index=Index(fields=['contact_id']),
        ),
    ]
