           05  L5-F  PIC X.
           COPY LEVEL6.
