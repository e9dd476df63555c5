           05  L7-F  PIC X.
           COPY LEVEL8.
