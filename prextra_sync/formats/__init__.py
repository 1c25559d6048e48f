"""The product's date formats (settings.FORMAT_MODULE_PATH), one module per language.

Every screen writes a date as the customer's screens do, jj/mm/aaaa (« 26/10/2022 »), with the time
after it when there is one (« 26/10/2022 13:00 », stamps to the second « 26/10/2022 13:00:05 »).
English shows the same day-first dates (Canadian usage, and the same as the French screens beside
them), rather than Django's "Oct. 26, 2022" or "10/26/2022". Templates name the format
(`|date:"SHORT_DATE_FORMAT"`), never spell it.
"""
