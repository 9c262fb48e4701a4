# Rollups, dashboards and reports arrive with issue #6.
