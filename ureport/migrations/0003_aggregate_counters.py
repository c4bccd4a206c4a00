from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_ussd')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AggregateCounter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('poll_id', fields.IntField()),
                ('question_key', fields.CharField(max_length=64)),
                ('scope', fields.CharField(max_length=191)),
                ('category', fields.CharField(max_length=64)),
                ('count', fields.IntField(default=0)),
            ],
            options={'table': 'aggregate_counter', 'app': 'models', 'unique_together': (('poll_id', 'question_key', 'scope', 'category'),), 'pk_attr': 'id', 'table_description': 'A precomputed count of answers per poll question, category and scope (e.g. district=12|sex=female).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Answer',
            name='region_id',
            field=fields.IntField(null=True),
        ),
    ]
