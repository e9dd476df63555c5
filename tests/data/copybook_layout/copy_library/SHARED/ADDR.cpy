           05  :P:-LINE-1      PIC X(30).
           05  :P:-POSTCODE    PIC X(8).
