"""The import of customers, prospects, suppliers and contacts from the ERP's CSV or XLSX files:
reading the file (reading.py), judging and writing each line (resources.py, with
django-import-export), running a preview then the import with its progress (runs.py), and the
reasons of refusals as codes rendered in the reader's language (reasons.py)."""
