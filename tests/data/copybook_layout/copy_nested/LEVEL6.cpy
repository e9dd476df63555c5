           05  L6-F  PIC X.
           COPY LEVEL7.
