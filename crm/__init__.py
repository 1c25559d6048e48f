"""The CRM: customers, prospects, suppliers, contact groups, contacts and activities."""
