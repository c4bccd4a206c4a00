"""A USSD session keeps keyed digests of the texts it was sent, not an encrypted copy of its path: the
column is renamed. A session in flight at the upgrade holds a ciphertext there, which the new code reads
as nothing remembered: its next hop resynchronises (an error line and the same screen)."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0009_ussd_session_contact_index')]

    initial = False

    operations = [
        ops.RenameField(model_name='UssdSession', old_name='path_cipher', new_name='path_digests'),
    ]
