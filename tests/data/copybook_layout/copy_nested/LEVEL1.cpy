           05  L1-F  PIC X.
           COPY LEVEL2.
