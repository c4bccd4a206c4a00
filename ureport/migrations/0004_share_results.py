from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_aggregate_counters')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ResultShare',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('poll', fields.ForeignKeyField('models.Poll', source_field='poll_id', db_constraint=True, to_field='id', related_name='result_shares', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='result_shares', on_delete=OnDelete.CASCADE)),
                ('question_key', fields.CharField(max_length=64)),
                ('shared_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'result_share', 'app': 'models', 'unique_together': (('poll', 'contact'),), 'pk_attr': 'id', 'table_description': "A participant who was sent a poll's results: `polls share-results` never messages anyone twice."},
            bases=['Model'],
        ),
    ]
