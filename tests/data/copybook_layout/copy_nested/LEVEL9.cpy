           05  L9-F  PIC X.
           COPY LEVEL10.
