           05  S-ID  PIC X.
           COPY main.
