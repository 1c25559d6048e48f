"""Prextra users, their Exchange switches, and the key → value configuration table."""
