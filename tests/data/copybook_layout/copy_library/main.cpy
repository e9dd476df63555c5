      * COPY ... OF/IN a library: a folder of the copybook folder
       01  LIB-REC.
           05  LR-ID           PIC X(6).
           COPY ADDR OF SHARED REPLACING ==:P:== BY ==LR==.
           COPY "totals" IN money.
           COPY ADDR IN SHARED REPLACING ==:P:== BY ==AGT==.
