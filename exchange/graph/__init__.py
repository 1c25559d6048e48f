"""Microsoft Graph: the client (the only code that speaks HTTP to Microsoft) and its errors."""
