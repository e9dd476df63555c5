       01  CLAIM-ADDR-REC.
           05  CA-CLAIM-NO     PIC X(10).
           COPY ADDRBLK REPLACING ==:PFX:== BY ==CA==
                                  ==PIC X(30)== BY ==PIC X(35)==
                                  POSTCODE BY CA-POSTCODE.
           COPY "amounts" REPLACING TRAILING ==-PAID== BY ==-SETTLED==
                                    LEADING ==AMT-== BY ==CA-AMT-==.
           COPY ADDRBLK REPLACING ==:PFX:== BY ==AGENT==
                                  ==POSTCODE PIC X(8)== BY
                                  ==AGENT-POSTCODE PIC X(10)==.
