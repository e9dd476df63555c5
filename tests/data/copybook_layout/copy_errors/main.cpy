       01  R.
           05  R-ID            PIC X(4).
           COPY SELF.
           COPY "../copy_replacing/amounts".
           COPY NOPE.
           COPY A OF SYSLIB.
           COPY BROKEN.
           COPY ADDR REPLACING ==X== BY.
