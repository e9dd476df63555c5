      * REPLACE ==a== BY ==b== ... REPLACE OFF, as GnuCOBOL does it
       REPLACE ==:PFX:== BY ==RS== ==PIC X(9)== BY ==PIC X(12)==.
       01  RS-REC.
           05  :PFX:-ID        PIC X(9).
           COPY PART.
       REPLACE ==:PFX:== BY ==NEW==.
           05  :PFX:-CODE      PIC X(9).
       REPLACE OFF.
           05  OLD-CODE        PIC X(9).
