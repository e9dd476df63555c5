           05  L3-F  PIC X.
           COPY LEVEL4.
