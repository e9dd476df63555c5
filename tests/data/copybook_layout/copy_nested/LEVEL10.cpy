           05  L10-F PIC X.
