           05  L4-F  PIC X.
           COPY LEVEL5.
