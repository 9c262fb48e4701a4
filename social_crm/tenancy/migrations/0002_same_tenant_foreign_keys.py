"""Composite foreign keys: a department head row can only point at a department and a
membership of its own tenant. Row-level security checks each row's own tenant_id, but plain
foreign-key checks ignore policies, so without these the database would accept a row of tenant
A that references tenant B's department. (Django has no composite foreign keys: raw SQL.)"""

from django.db import migrations

SQL = """
ALTER TABLE tenancy_department ADD CONSTRAINT department_tenant_id_id_key UNIQUE (tenant_id, id);
ALTER TABLE tenancy_membership ADD CONSTRAINT membership_tenant_id_id_key UNIQUE (tenant_id, id);
ALTER TABLE tenancy_departmenthead ADD CONSTRAINT departmenthead_same_tenant_department
    FOREIGN KEY (tenant_id, department_id) REFERENCES tenancy_department (tenant_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE tenancy_departmenthead ADD CONSTRAINT departmenthead_same_tenant_membership
    FOREIGN KEY (tenant_id, membership_id) REFERENCES tenancy_membership (tenant_id, id)
    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
"""

REVERSE = """
ALTER TABLE tenancy_departmenthead DROP CONSTRAINT departmenthead_same_tenant_membership;
ALTER TABLE tenancy_departmenthead DROP CONSTRAINT departmenthead_same_tenant_department;
ALTER TABLE tenancy_membership DROP CONSTRAINT membership_tenant_id_id_key;
ALTER TABLE tenancy_department DROP CONSTRAINT department_tenant_id_id_key;
"""


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
