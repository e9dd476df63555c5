       01  RE-REC.
           05  RE-ID           PIC X(4).
       REPLACE ==A== BY.
       REPLACE.
       REPLACE ==B== BY ==C== EXTRA
           05  RE-X            PIC X(2).
           COPY M OF "../replace_statement".
           COPY M OF.
