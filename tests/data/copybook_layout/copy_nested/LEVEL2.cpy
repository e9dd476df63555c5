           05  L2-F  PIC X.
           COPY LEVEL3.
