           05  L8-F  PIC X.
           COPY LEVEL9.
